"""The decision log's metrics: what every tick decided, when it last decided, and the league's day.

    scraper_workflow_decisions_total{workflow, decision}          counter; decision is one of
                                                                  run, skip, catch_up, nothing_due, stale
    scraper_workflow_last_decision_timestamp_seconds{workflow}    gauge: unix time of the moment decided
    scraper_league_games{day}                                     gauge: games on that Eastern date per
                                                                  the landed schedule; day is today or
                                                                  yesterday (0 on off days, the All-Star
                                                                  break, the off-season; absent while
                                                                  no schedule of the season has landed)

Every tick decides every workflow (nothing_due included), so the last-decision time of each one
advances every tick interval: a gap longer than that means the ticks stopped (the alert rules in
dashboards/alerts.yml page on it). `scraper_league_games` lets alerts on data staleness follow the
calendar: no data is expected on a day without games.

A tick runs in a short-lived container, so it pushes to the Pushgateway like a one-job container
(group `instance="tick"`), its counters added to the group's fleet totals in the state store first
(scrapers/metrics/totals.py): the counters add up across tick containers.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from scrapers.metrics.fleet import UNKNOWN, package_version
from scrapers.workflows.decide import KINDS, Decision

PUSH_GROUP = {"instance": "tick"}
DAYS = ("today", "yesterday")


class WorkflowMetrics:
    def __init__(self, workflows: Iterable[str], *, revision: str | None = None) -> None:
        self.registry = CollectorRegistry()
        # What this process's counters already added to the fleet totals (see totals.py).
        self.folded: dict[str, float] = {}
        r = self.registry
        build_info = Gauge(
            "scraper_build_info",
            "Always 1: the running release (package version, git revision, Python version)",
            ["version", "revision", "python_version"],
            registry=r,
        )
        build_info.labels(package_version(), revision or UNKNOWN, platform.python_version()).set(1)
        self.decisions = Counter(
            "scraper_workflow_decisions",
            "Decisions of the game-aware schedule, by workflow and kind (run, skip, catch_up, "
            "nothing_due, stale)",
            ["workflow", "decision"],
            registry=r,
        )
        self.last_decision = Gauge(
            "scraper_workflow_last_decision_timestamp_seconds",
            "Unix time of the moment the workflow was last decided for",
            ["workflow"],
            registry=r,
        )
        self.league_games = Gauge(
            "scraper_league_games",
            "Games on the Eastern date per the landed schedule (day: today or yesterday)",
            ["day"],
            registry=r,
        )
        # Known label combinations start at zero, so increase() counts from the first push.
        for workflow in workflows:
            for kind in KINDS:
                self.decisions.labels(workflow, kind)

    def decided(self, decision: Decision) -> None:
        self.decisions.labels(decision.workflow, decision.kind.value).inc()
        self.last_decision.labels(decision.workflow).set(decision.at.timestamp())

    def games(self, day: str, count: int | None) -> None:
        """`count` None: the calendar does not know the day (no schedule landed): no series."""
        if count is None:
            with contextlib.suppress(KeyError):
                self.league_games.remove(day)
            return
        self.league_games.labels(day).set(count)
