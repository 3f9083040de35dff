"""Where a web fact-check runs: in a worker process (`kb/checkworker.py`) the server can kill.

A check is Python (and `re`) work that holds the GIL: run on the event loop or in one of its threads,
a hostile draft would freeze every other request, and a thread cannot be stopped. So each check goes
to one of a few worker processes, started with the server and kept warm (the claim index is built
once per worker). The library stops a check at its deadline; a check that does not stop by then
(stuck inside one regex call, say) is killed `GRACE_S` later, answered as too slow, and its worker
replaced by a fresh one that starts at once. A few checks may wait for a worker (`queue`), each at
most its own time limit plus a second; more are refused at once (CheckBusy: 503 with Retry-After).

Everything here is blocking code run in the pool's own threads (never the event loop's executor), so
it works from any event loop, as each of the tests' `asyncio.run` brings a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import queue
import select
import subprocess
import sys
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..checkworker import HEADER, write_frame
from ..factcheck import CheckTookTooLong, Report

GRACE_S = 0.3  # past the library's own deadline, before the worker is killed
STARTUP_S = 20.0  # a worker that is not ready by then is killed (a busy machine starts slowly)
QUEUE_WAIT_EXTRA_S = 1.0  # a waiting check waits at most its own time limit plus this
DEFAULT_WORKERS = 1
DEFAULT_QUEUE = 4


class CheckBusy(Exception):
    """Too many checks at once: try again in a moment."""


class CheckFailed(Exception):
    """The worker failed (crashed, ran out of memory, or could not open the database)."""


def _read_exact(fd: int, size: int, deadline: float) -> bytes:
    data = b""
    while len(data) < size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


class Worker:
    """One worker process and its pipes. Not thread-safe: the pool hands it to one thread at a time."""

    def __init__(self, db_path: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kb.checkworker", db_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.ready = False
        weakref.finalize(self, self.proc.kill)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a draft left unsent to a dead worker: EPIPE
                    pipe.close()

    def _receive(self, deadline: float) -> Any:
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        (size,) = HEADER.unpack(_read_exact(fd, HEADER.size, deadline))
        return pickle.loads(_read_exact(fd, size, deadline))

    def ask(self, text: str, seconds: float) -> tuple[str, Any]:
        """The worker's answer, or ("timeout", ...) once `seconds` + GRACE_S have passed (the
        worker is then killed)."""
        try:
            if not self.ready:
                self._receive(time.monotonic() + STARTUP_S)
                self.ready = True
            started = time.monotonic()
            write_frame(self.proc.stdin, (text, seconds))  # type: ignore[arg-type]
            return self._receive(started + seconds + GRACE_S)
        except TimeoutError:
            self.kill()
            if not self.ready:
                return "error", "the checker did not start"
            return "timeout", f"stopped after {seconds + GRACE_S:g} s"
        except (EOFError, OSError, ValueError) as exc:
            self.kill()
            return "error", f"the checker stopped ({type(exc).__name__})"


class CheckPool:
    """`workers` warm worker processes on db_path; up to `waiting` more checks queue for one."""

    def __init__(self, db_path: str, workers: int = DEFAULT_WORKERS, waiting: int = DEFAULT_QUEUE):
        self.db_path = db_path
        self.capacity = workers + waiting
        self.pending = 0
        self.lock = threading.Lock()
        self.idle: queue.Queue[Worker] = queue.Queue()
        for _ in range(workers):
            self.idle.put(Worker(db_path))
        self.executor = ThreadPoolExecutor(self.capacity, thread_name_prefix="kb-check")

    async def check(self, text: str, seconds: float) -> Report:
        """The report; CheckTookTooLong past the limit, CheckBusy when too many are waiting,
        CheckFailed when the worker failed."""
        with self.lock:
            if self.pending >= self.capacity:
                raise CheckBusy("too many fact-checks at once")
            self.pending += 1
        try:
            loop = asyncio.get_running_loop()
            kind, value = await loop.run_in_executor(self.executor, self._run, text, seconds)
        finally:
            with self.lock:
                self.pending -= 1
        if kind == "ok":
            return value
        if kind == "timeout":
            raise CheckTookTooLong(value)
        if kind == "busy":
            raise CheckBusy(value)
        raise CheckFailed(value)

    def _run(self, text: str, seconds: float) -> tuple[str, Any]:
        try:
            worker = self.idle.get(timeout=seconds + QUEUE_WAIT_EXTRA_S)
        except queue.Empty:
            return "busy", "every checker stayed busy"
        try:
            return worker.ask(text, seconds)
        finally:
            self.idle.put(worker if worker.alive() else Worker(self.db_path))
