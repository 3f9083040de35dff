"""Shared fixtures: copies of data/, a built database, and real `kb serve` processes on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlite_utils

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).parent / "fixtures"
KB = [sys.executable, "-m", "kb.cli"]


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of the curated data/ to damage or extend."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


@pytest.fixture
def stand_in_limits() -> tuple[int, float, int]:
    """The Crossref and OpenAlex stand-ins' rate limit (requests, per seconds, concurrent);
    a test module overrides this fixture to change it."""
    return (20, 1.0, 3)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch, stand_in_limits: tuple[int, float, int]) -> Iterator:
    """Loopback stand-ins for Crossref, OpenAlex and doi.org serving recorded answers, named by the
    KB_*_URL variables `kb ingest` reads (and no OpenAlex API key)."""
    from ingest.standin import StandIn

    with StandIn(limits={"crossref": stand_in_limits, "openalex": stand_in_limits}) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("KB_OPENALEX_API_KEY", raising=False)
        yield server


@pytest.fixture(scope="session")
def kb_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kb.db built once from the repository's data/."""
    from kb import build

    db_path = tmp_path_factory.mktemp("db") / "kb.db"
    build(DATA, db_path)
    return db_path


@pytest.fixture(scope="module")
def db(kb_db: Path) -> sqlite_utils.Database:
    """That kb.db, read-only."""
    return sqlite_utils.Database(sqlite3.connect(f"file:{kb_db}?mode=ro", uri=True))


@pytest.fixture(scope="module")
def index(db: sqlite_utils.Database):
    """The claims side of `kb check` over that kb.db, built once per module."""
    from kb.matching import ClaimIndex

    return ClaimIndex(db)


def post_check(ds, text: str) -> httpx.Response:
    """Submit text through the /-/check form of an in-process Datasette, as a browser would."""
    import asyncio
    import re

    async def go() -> httpx.Response:
        page = await ds.client.get("/-/check")
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)
        return await ds.client.post(
            "/-/check",
            data={"text": text, "csrftoken": token},
            cookies={"ds_csrftoken": page.cookies.get("ds_csrftoken", "")},
        )

    return asyncio.run(go())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Poll url until it answers; fail early if the server process died. Bounded by timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode}:\n{out}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def start_kb_serve(workdir: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """Start the real `kb serve` on a free loopback port; returns (process, base URL)."""
    port = free_port()
    shutil.copytree(DATA, workdir / "data", dirs_exist_ok=True)
    cmd = [
        *KB, "serve", "--data", str(workdir / "data"), "--db", str(workdir / "kb.db"),
        "--metadata", str(REPO / "metadata.yml"), "--host", "127.0.0.1", "--port", str(port), *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/-/health", proc)
    except Exception:
        stop(proc)
        raise
    return proc, base


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def kb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real `kb serve` (development settings) on loopback, stopped after the session."""
    proc, base = start_kb_serve(tmp_path_factory.mktemp("serve"))
    yield base
    stop(proc)


@pytest.fixture(scope="session")
def public_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real `kb serve --public` on loopback."""
    proc, base = start_kb_serve(tmp_path_factory.mktemp("public"), "--public")
    yield base
    stop(proc)


# LocalNetworkAccessChecks off: a test page on the clinic's origin reads the API from the loopback
# server the tests start (in production the API is public, so the check does not apply).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-features=LocalNetworkAccessChecks"]  # fmt: skip


@pytest.fixture
def page() -> Iterator:
    """A page in Debian's Chromium driven by Playwright (which cannot download a browser here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.fixture
def shoot():
    """Save a screenshot as docs/screenshots/<name>.png when KB_SCREENSHOTS names that folder
    (`KB_SCREENSHOTS=docs/screenshots pytest -m browser`); otherwise do nothing."""
    folder = os.environ.get("KB_SCREENSHOTS")

    def save(page, name: str, full_page: bool = False) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)

    return save
