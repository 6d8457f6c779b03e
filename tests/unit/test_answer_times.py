"""When a proxied attempt is presumed hung (proxy/answer_times.py): RFC 6298's estimator per
(tier, host), its floor and cap, and the doubling after each cut."""

from __future__ import annotations

import pytest

from proxy.answer_times import AnswerTimes

HOST = "api.bettingpros.com"


def test_nothing_known_means_the_tier_s_timeout() -> None:
    assert AnswerTimes().limit("datacenter", HOST, timeout=45.0, floor=10.0) == 45.0


def test_the_limit_follows_the_host_s_answers_through_the_tier_above_a_floor() -> None:
    times = AnswerTimes()
    times.answered("datacenter", HOST, 0.4)  # srtt 0.4, rttvar 0.2: 1.2 s, under the floor
    assert times.limit("datacenter", HOST, timeout=45.0, floor=10.0) == 10.0
    for _ in range(40):
        times.answered("datacenter", HOST, 30.0)  # the host's peak: 30 s answers, every one
    assert 30.0 < times.limit("datacenter", HOST, timeout=45.0, floor=10.0) < 31.0  # they get through
    assert times.limit("datacenter", HOST, timeout=20.0, floor=10.0) == 20.0  # never past the timeout
    assert times.limit("residential", HOST, timeout=90.0, floor=10.0) == 90.0  # another tier: unknown
    times.answered("residential", HOST, 2.0)
    times.answered("residential", HOST, 4.0)  # srtt 2.25, rttvar 1.25: 7.25 s past the 3 s floor
    assert times.limit("residential", HOST, timeout=90.0, floor=3.0) == pytest.approx(7.25)


def test_each_cut_doubles_the_limit_until_an_answer_comes_back() -> None:
    times = AnswerTimes()
    times.answered("datacenter", HOST, 0.4)
    seen = []
    for _ in range(4):
        seen.append(times.limit("datacenter", HOST, timeout=45.0, floor=10.0))
        times.cut("datacenter", HOST)
    seen.append(times.limit("datacenter", HOST, timeout=45.0, floor=10.0))
    times.answered("datacenter", HOST, 0.4)
    seen.append(times.limit("datacenter", HOST, timeout=45.0, floor=10.0))

    assert seen == [10.0, 20.0, 40.0, 45.0, 45.0, 10.0]
