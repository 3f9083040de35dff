"""The database file while `kb build` writes it: a temporary file beside it, removed whatever stops
the build, swept when a killed build left it, and a clear error when the folder or the disk refuses.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .cache import left_behind


class DatabaseWriteError(OSError):
    """The database cannot be written (a folder we may not write to, a full disk); `filename` is
    the database, `strerror` says why. The previous database is left as it was."""


# The files SQLite keeps beside a database while writing it.
SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")
# SQLite's primary result codes that mean the file system refused (sqlite3.h).
_CANNOT_WRITE = {3: "permission denied", 8: "read-only", 14: "cannot create a file there"}
_NO_SPACE = {13: "the disk is full", 10: "writing failed (disk full, or the file too large?)"}
_WRITE_ERRNOS = {
    errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO,
}  # fmt: skip


def remove_temp(tmp: Path) -> None:
    for suffix in ("", *SQLITE_SIDE_FILES):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def temp_path(db_path: Path) -> Path:
    """Where this process builds db_path before it replaces it: same folder, so `os.replace` is atomic."""
    return db_path.with_name(f".{db_path.name}.{os.getpid()}.tmp")


def sweep_temp_files(db_path: Path) -> None:
    """Remove what builds that were killed or failed left beside db_path: a temporary database and
    its journal, whose process is gone."""
    for tmp in db_path.parent.glob(f".{db_path.name}.*.tmp*"):
        if left_behind(tmp.name):
            tmp.unlink(missing_ok=True)


def write_error(exc: Exception, db_path: Path) -> DatabaseWriteError | None:
    """A clear error for a database that could not be written; None for any other failure."""
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        why = _CANNOT_WRITE.get(code) or _NO_SPACE.get(code)
    elif isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
        why = os.strerror(exc.errno).lower()
    else:
        return None
    if why is None:
        return None
    kept = "the previous database is unchanged" if db_path.exists() else "nothing was written"
    message = f"cannot write the database in {db_path.parent.resolve()}: {why}; {kept}"
    return DatabaseWriteError(getattr(exc, "errno", None) or 0, message, str(db_path))


@contextmanager
def writing(db_path: Path) -> Iterator[None]:
    """File operations on the database: refused writes become a DatabaseWriteError."""
    try:
        yield
    except OSError as exc:
        if (clear := write_error(exc, db_path)) is None:
            raise
        raise clear from exc
