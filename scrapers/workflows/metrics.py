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
(a group per workflow, `instance="tick", workflow=W`, and `instance="tick"` for the calendar), its
counters added to the group's fleet totals in the state store first
(scrapers/metrics/totals.py): the counters add up across tick containers.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge

from proxy.state import StateStore
from scrapers.metrics.exposition import push
from scrapers.metrics.fleet import UNKNOWN, package_version
from scrapers.workflows.decide import KINDS, Decision

PUSH_GROUP = {"instance": "tick"}
# The series of a tick's own runs that no scraper label divides (`scrapers tick` pushes its runs'
# metrics there and in each scraper's group once they have ended): a group of its own, since a push
# replaces its whole group and PUSH_GROUP holds the calendar's series.
RUNS_PUSH_GROUP = {"instance": "tick-runs"}
DAYS = ("today", "yesterday")


@dataclass
class Group:
    """One Pushgateway group: what a push of it needs (scrapers.metrics.exposition.Pushable)."""

    key: dict[str, str]
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    # What this process's counters already added to the group's fleet totals (see totals.py).
    folded: dict[str, float] = field(default_factory=dict)


class WorkflowMetrics:
    """One push group per workflow (`instance="tick", workflow=W`) and one for the calendar
    (`instance="tick"`): a push replaces its whole group, so a `tick --workflow W` replaces W's
    series only and never blanks the other workflows' last decision (which would page)."""

    def __init__(self, workflows: Iterable[str], *, revision: str | None = None) -> None:
        self.calendar = Group(dict(PUSH_GROUP))
        build_info = Gauge(
            "scraper_build_info",
            "Always 1: the running release (package version, git revision, Python version)",
            ["version", "revision", "python_version"],
            registry=self.calendar.registry,
        )
        build_info.labels(package_version(), revision or UNKNOWN, platform.python_version()).set(1)
        self.league_games = Gauge(
            "scraper_league_games",
            "Games on the Eastern date per the landed schedule (day: today or yesterday)",
            ["day"],
            registry=self.calendar.registry,
        )
        self.workflows: dict[str, Group] = {}
        self.decisions: dict[str, Counter] = {}
        self.last_decision: dict[str, Gauge] = {}
        for workflow in workflows:
            group = self.workflows[workflow] = Group({**PUSH_GROUP, "workflow": workflow})
            self.decisions[workflow] = Counter(
                "scraper_workflow_decisions",
                "Decisions of the game-aware schedule, by workflow and kind (run, skip, catch_up, "
                "nothing_due, stale)",
                ["workflow", "decision"],
                registry=group.registry,
            )
            self.last_decision[workflow] = Gauge(
                "scraper_workflow_last_decision_timestamp_seconds",
                "Unix time of the moment the workflow was last decided for",
                ["workflow"],
                registry=group.registry,
            )
            # Known label combinations start at zero, so increase() counts from the first push.
            for kind in KINDS:
                self.decisions[workflow].labels(workflow, kind)

    def heard(self, decision: Decision) -> None:
        """The moment decided, before the decision is carried out: pushed at once, so a tick whose
        jobs run long still shows the controller alive (WorkflowDecisionsStalled)."""
        self.last_decision[decision.workflow].labels(decision.workflow).set(decision.at.timestamp())

    def decided(self, decision: Decision) -> None:
        """The decision carried out: counted once, with its kind."""
        self.decisions[decision.workflow].labels(decision.workflow, decision.kind.value).inc()
        self.heard(decision)

    def games(self, day: str, count: int | None) -> None:
        """`count` None: the calendar does not know the day (no schedule landed): no series."""
        if count is None:
            with contextlib.suppress(KeyError):
                self.league_games.remove(day)
            return
        self.league_games.labels(day).set(count)

    def groups(self) -> list[Group]:
        return [self.calendar, *self.workflows.values()]


async def push_groups(metrics: WorkflowMetrics, store: StateStore, gateway: str) -> None:
    """Every group of a tick to the Pushgateway, counters added to the fleet totals first."""
    for group in metrics.groups():
        await push(group, store, gateway, group.key)
