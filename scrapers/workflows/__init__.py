"""The game-aware schedule: workflows.yaml decides, from the league calendar we land ourselves, what
runs when; `scrapers plan` shows every decision and `scrapers tick` carries out the due ones once.

One concern per module:

    model       workflows.yaml as typed data (triggers, jobs, durations, times of day)
    calendar    game days, tip times and final states, read from the landed schedule and scoreboards
    triggers    a trigger and a league day -> the windows it opens (due moment, staleness)
    jobs        a workflow's jobs resolved for one window (the CLI's option vocabulary); the check
    windows     the record of each workflow's windows in the state store: exactly one run per window
    decide      the decisions of one moment: run, catch_up, stale, skip, nothing_due, with reasons
    recovery    the morning after: the jobs of yesterday's games whose ledger status is failed or missing
    execute     carrying decisions out: locally through the one run path, or onto the jobs topic
    metrics     the decision counters and gauges, pushed like a one-job container's
    tick        one pass: read, decide, claim, execute, record, log, push
"""
