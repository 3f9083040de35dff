"""The process a web fact-check runs in: `python -m kb.checkworker DB_PATH`.

It reads requests from stdin and writes answers to stdout, one frame each (a 4-byte big-endian length,
then a pickle; parent and child are the same code, so pickle is safe here). A request is
`(text, seconds)`; the answer is `("ok", Report)`, `("timeout", message)` or `("error", message)`.
The check library stops at the deadline it is given; a check stuck where the library cannot look at
the clock is the parent's to kill (`kb/web/checkpool.py`; this module is outside `kb.web` so a worker starts without loading Datasette). The worker ends when stdin closes, so it
never outlives the server. Its address space is capped, so a draft that would take all the memory
ends in MemoryError (an error answer), not in the machine swapping.
"""

from __future__ import annotations

import os
import pickle
import resource
import sqlite3
import struct
import sys
import time
from typing import Any, BinaryIO

import sqlite_utils

from .factcheck import CheckTookTooLong, ClaimIndex, check_text

MEMORY_LIMIT = 1536 * 1024 * 1024  # bytes of address space a worker may use
HEADER = struct.Struct(">I")


def write_frame(out: BinaryIO, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(HEADER.pack(len(data)) + data)
    out.flush()


def read_frame(inp: BinaryIO) -> Any:
    head = inp.read(HEADER.size)
    if len(head) < HEADER.size:
        raise EOFError
    (size,) = HEADER.unpack(head)
    data = inp.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class Checker:
    """The database and its claim index, opened again whenever the file is replaced (a rebuild)."""

    def __init__(self, path: str):
        self.path = path
        self.stamp: tuple[int, int, int] | None = None
        self.db: sqlite_utils.Database | None = None
        self.index: ClaimIndex | None = None

    def current(self) -> tuple[sqlite_utils.Database, ClaimIndex]:
        st = os.stat(self.path)
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self.db is None or self.index is None or stamp != self.stamp:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self.db = sqlite_utils.Database(conn)
            self.index = ClaimIndex(self.db)
            self.stamp = stamp
        return self.db, self.index

    def answer(self, text: str, seconds: float) -> tuple[str, Any]:
        deadline = time.monotonic() + seconds
        try:
            db, index = self.current()
            return "ok", check_text(db, text, index=index, deadline=deadline)
        except CheckTookTooLong as exc:
            return "timeout", str(exc)
        except MemoryError:
            return "error", "the draft needs more memory than a check may use"
        except Exception as exc:  # the server answers 500 with this, never a traceback
            return "error", f"{type(exc).__name__}: {exc}"


def main(path: str) -> None:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames on the pipe
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    checker = Checker(path)
    try:
        checker.current()  # warm: the first check should not pay for the index
    except Exception as exc:
        print(f"kb check worker: {exc!r}", file=sys.stderr, flush=True)
    write_frame(out, ("ready", None))
    while True:
        try:
            text, seconds = read_frame(inp)
        except EOFError:
            return
        write_frame(out, checker.answer(text, seconds))


if __name__ == "__main__":
    main(sys.argv[1])
