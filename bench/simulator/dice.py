"""Seeded fault draws that do not depend on how concurrent requests interleave.

Each draw gets its own `random.Random`, seeded from the scenario seed and a description of the
request: the server, the request and how many times that server has seen it. The third request
for an offers page at a host therefore meets the same fault in every run and under every policy,
whatever else was in flight. Rate limiting is the one thing that depends on timing, by nature.
"""

from __future__ import annotations

import hashlib
import random


class Dice:
    def __init__(self, seed: int) -> None:
        self.seed = seed

    def roll(self, *parts: object) -> random.Random:
        digest = hashlib.sha256(repr((self.seed, *parts)).encode("utf-8")).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))
