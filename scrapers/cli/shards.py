"""Which of a jobs file's jobs this task runs, when one file is spread over the tasks of a job.

A Cloud Run job with N tasks sets CLOUD_RUN_TASK_INDEX and CLOUD_RUN_TASK_COUNT in each task; a
Kubernetes indexed Job sets JOB_COMPLETION_INDEX in each pod but not its `completions`, which the
manifest passes as COURTSIDE_TASK_COUNT. Job i of the file (counting from 0) runs on task
i % count: deterministic, the same file gives every task the same split, and the tasks of one
execution run every job exactly once between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from scrapers.core.errors import SettingsError
from scrapers.core.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int
    variables: tuple[str, str]  # where index and count came from, for the line that says so

    def picks(self, items: Sequence[T]) -> list[tuple[int, T]]:
        """This task's items, with their positions in the whole list."""
        return [(at, item) for at, item in enumerate(items) if at % self.count == self.index]

    def describe(self, positions: Sequence[int], total: int) -> str:
        index_name, count_name = self.variables
        numbers = ", ".join(f"#{position + 1}" for position in positions) or "none"
        return (
            f"task {self.index} of {self.count} ({index_name}={self.index}, {count_name}={self.count}) "
            f"runs {len(positions)} of the file's {total} jobs: {numbers}"
        )


def shard_of(env: Settings) -> Shard | None:
    """This task's shard, from the platform's variables; None when the process is no task of many.
    SettingsError (exit 2) when they do not make one."""
    if env.cloud_run_task_index is not None:
        index_name = Settings.variable("cloud_run_task_index")
        count_name = Settings.variable("cloud_run_task_count")
        raw = env.cloud_run_task_index
        if not raw.isdigit():
            raise SettingsError([f"{index_name}={raw!r}: not a task index (example: {index_name}=0)"])
        index, count = int(raw), env.cloud_run_task_count
        if count is None:
            raise SettingsError(
                [f"{index_name}={raw} is set but {count_name} is not (example: {count_name}=4)"]
            )
    elif env.job_completion_index is not None:
        index_name, count_name = Settings.variable("job_completion_index"), Settings.variable("task_count")
        index, count = env.job_completion_index, env.task_count
        if count is None:
            raise SettingsError(
                [
                    f"{index_name}={index} is set but {count_name} is not: set it to the indexed Job's "
                    f"completions (example: {count_name}=4)"
                ]
            )
    else:
        return None
    if index >= count:
        raise SettingsError(
            [f"{index_name}={index} is not below {count_name}={count} (example: {index_name}={count - 1})"]
        )
    return Shard(index, count, (index_name, count_name))
