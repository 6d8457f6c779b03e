"""The run pipeline: the runner, job planning, fan-out, the run manager and how runs are wired."""
