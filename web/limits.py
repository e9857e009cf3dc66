"""Rate limits for the web server: a sliding one-minute window per key (client, office)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable

WINDOW_SECONDS = 60.0


class RateLimit:
    """At most `per_minute` hits per key in any 60 seconds; keys idle a minute are forgotten."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._swept_at = clock()

    def allow(self, key: Hashable) -> bool:
        """Count a hit for `key` and say whether it is within the limit (a refused hit counts not)."""
        now = self.clock()
        self._sweep(now)
        hits = self._recent(key, now)
        if len(hits) >= self.per_minute:
            return False
        hits.append(now)
        return True

    def retry_after(self, key: Hashable) -> int:
        """Whole seconds until `key` may try again (0: now)."""
        now = self.clock()
        if key not in self._hits:  # asking must not remember a key: only hits do
            return 0
        hits = self._recent(key, now)
        if len(hits) < self.per_minute:
            return 0
        return max(1, math.ceil(hits[0] + WINDOW_SECONDS - now))

    def _recent(self, key: Hashable, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - WINDOW_SECONDS:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        """Drop keys with no hit in the last minute, at most once a minute: memory stays bounded
        by the clients of the last two minutes, however many have come and gone."""
        if now - self._swept_at < WINDOW_SECONDS:
            return
        self._swept_at = now
        for key in [
            k for k, hits in self._hits.items() if not hits or hits[-1] <= now - WINDOW_SECONDS
        ]:
            del self._hits[key]

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._hits)
