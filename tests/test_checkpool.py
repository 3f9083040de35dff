"""The fact-check worker pool with real worker processes: a check that does not answer by its deadline
is killed and reported as too slow, a crashed worker is replaced, and the next check still runs."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from kb.factcheck import CheckTookTooLong
from kb.web.checkpool import CheckFailed, CheckPool

DRAFT = "The longitudinal part of the OAI analysis drew on 1,412 varus knees over 24 months."


def only_worker_pid(pool: CheckPool) -> int:
    worker = pool.idle.get_nowait()
    pool.idle.put(worker)
    return worker.proc.pid


def test_a_check_answers_with_a_report(kb_db: Path) -> None:
    pool = CheckPool(str(kb_db))
    report = asyncio.run(pool.check(DRAFT, 30))
    assert [s.verdict for s in report.statements] == ["contradicted"]


def test_a_worker_that_does_not_answer_is_killed_and_replaced(kb_db: Path) -> None:
    pool = CheckPool(str(kb_db))
    asyncio.run(pool.check(DRAFT, 30))  # the worker is up and warm
    stuck = only_worker_pid(pool)
    os.kill(stuck, signal.SIGSTOP)  # as a check stuck inside one regex call would be
    with pytest.raises(CheckTookTooLong, match="stopped after"):
        asyncio.run(pool.check(DRAFT, 0.5))
    with pytest.raises(ProcessLookupError):
        os.kill(stuck, 0)  # gone, not left running
    assert only_worker_pid(pool) != stuck
    assert asyncio.run(pool.check(DRAFT, 30)).statements


def test_a_crashed_worker_is_reported_and_replaced(kb_db: Path) -> None:
    pool = CheckPool(str(kb_db))
    asyncio.run(pool.check(DRAFT, 30))
    worker = pool.idle.get_nowait()
    pool.idle.put(worker)
    os.kill(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait(timeout=10)  # dead before the draft is sent: writing to it fails (EPIPE)
    with pytest.raises(CheckFailed):
        asyncio.run(pool.check(DRAFT, 30))
    assert asyncio.run(pool.check(DRAFT, 30)).statements
