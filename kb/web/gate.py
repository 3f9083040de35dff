"""Bounded slots for requests that can run slow SQL (table pages and searches) on a public instance:
a flood of them waits briefly, then gets 503 with `Retry-After`, while SQL threads stay free for the
API lookups, the FAQ and Datasette's own pages (see `middleware.py` for why one slot by default).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from .cache import API_JSON_COLUMNS

DEFAULT_HEAVY_SLOTS = 1  # slow requests at a time (see the module docstring)
HEAVY_QUEUE = 32  # heavy requests waiting for a slot; more are refused at once
HEAVY_WAIT_S = 1.0  # how long a slow request waits for a slot before it gets 503
# A table or query page (`/db/name`, `/db/name.json`): may run slow SQL (search, count, facets).
HEAVY_PATH = re.compile(rb"^/[^/]+/[^/]+$")


def is_heavy(raw_path: bytes) -> bool:
    """Requests that can hold an SQL thread for the whole time limit: table and query pages other
    than the website's API lookups (the fact-checker has a gate of its own)."""
    return (
        not raw_path.startswith(b"/-/")
        and raw_path not in API_JSON_COLUMNS
        and HEAVY_PATH.match(raw_path) is not None
    )


class HeavyGate:
    """At most `slots` slow requests at a time; up to HEAVY_QUEUE wait (each at most `wait` seconds)
    and the rest are refused. The semaphore belongs to the event loop that first used it: a new loop
    (as each test's `asyncio.run` brings) gets a new one."""

    def __init__(self, slots: Callable[[], int], wait: float = HEAVY_WAIT_S):
        self.slots = slots
        self.wait = wait
        self.waiting = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sem: asyncio.Semaphore | None = None

    def semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._sem is None or self._loop is not loop:
            self._loop, self._sem = loop, asyncio.Semaphore(max(1, self.slots()))
        return self._sem

    async def acquire(self) -> bool:
        sem = self.semaphore()
        if sem.locked() and self.waiting >= HEAVY_QUEUE:
            return False
        self.waiting += 1
        try:
            await asyncio.wait_for(sem.acquire(), self.wait)
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1

    def release(self) -> None:
        assert self._sem is not None
        self._sem.release()
