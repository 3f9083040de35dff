"""The files a build leaves: none of its temporary files, whatever stopped it, and the old kb.db whole."""

from __future__ import annotations

import resource
import signal
import subprocess
from pathlib import Path

from conftest import KB, REPO


def run_build(
    data: Path, db: Path, file_size_limit: int | None = None
) -> subprocess.CompletedProcess:
    def limit() -> None:  # in the child: files may not grow past the limit, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        [*KB, "build", "--data", str(data), "--db", str(db)], capture_output=True, text=True,
        cwd=REPO, timeout=120, preexec_fn=limit if file_size_limit else None,
    )  # fmt: skip


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp*"))


def test_what_killed_builds_left_is_swept_by_the_next_build(data_copy: Path) -> None:
    db = data_copy.parent / "kb.db"
    assert run_build(data_copy, db).returncode == 0
    cache = data_copy.parent / ".kb-cache"
    dead, alive = dead_pid(), subprocess.os.getpid()  # this test runs as long as the build
    left = [
        data_copy.parent / f".kb.db.{dead}.tmp",
        data_copy.parent / f".kb.db.{dead}.tmp-journal",
        cache / f".{'a' * 64}.pickle.{dead}.tmp",
        cache / f".manifest-kb.db.json.{dead}.tmp",
    ]
    running = [data_copy.parent / f".kb.db.{alive}.tmp", cache / f".b.pickle.{alive}.tmp"]
    for path in left + running:
        path.write_bytes(b"\0" * 1000)
    (data_copy / "sources.yml").write_text((data_copy / "sources.yml").read_text() + "# edited\n")
    result = run_build(data_copy, db)
    assert result.returncode == 0, result.stderr
    assert temp_files(data_copy.parent) == sorted(p.name for p in running)  # another build's


def test_a_full_disk_is_a_clear_error_and_the_old_database_stays(data_copy: Path) -> None:
    db = data_copy.parent / "kb.db"
    assert run_build(data_copy, db).returncode == 0
    before = db.read_bytes()
    (data_copy / "sources.yml").write_text((data_copy / "sources.yml").read_text() + "# edited\n")
    result = run_build(data_copy, db, file_size_limit=len(before) // 2)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "sqlite3." not in result.stderr
    assert f"cannot write the database in {data_copy.parent}" in result.stderr
    assert "the previous database is unchanged" in result.stderr
    assert db.read_bytes() == before
    assert temp_files(data_copy.parent) == []


def test_a_folder_that_cannot_be_written_is_a_clear_error(data_copy: Path) -> None:
    db = Path("/proc/kb-test.db")  # no one, root included, may create a file in /proc
    result = run_build(data_copy, db)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "sqlite3." not in result.stderr
    assert "cannot write the database in /proc: cannot create a file there" in result.stderr
    assert "nothing was written" in result.stderr
