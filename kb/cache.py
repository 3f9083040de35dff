"""The build cache: each data file's parsed and checked records, keyed by the file's content.

Lives in `.kb-cache/` beside the database (git-ignored). An entry is valid for one file path, one file
content and one version of the code that parses and checks it, so a stale entry is never read: it just
stops being used and is pruned after the next successful build. Every write is atomic (temp file +
`os.replace`), so a build that dies half-way leaves whole entries or none.

The manifest records which file contents the current database was built from; `kb build` compares it
with `data/` to decide whether a change touches only claim files and can be applied to a copy of the
previous database instead of rebuilding everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .loader import file_bytes, misnamed_files

# The code a cached entry or an incremental build depends on: parsing and checking, and (for the
# manifest) the schema and the rows the build derives, so a code change always means a full build.
_CODE = ("loader.py", "fields.py", "validate.py", "doi.py", "cache.py", "schema.py", "build.py",
         "markup.py", "citation.py", "lexicon.py", "names.py")  # fmt: skip


def _code_version() -> str:
    digest = hashlib.sha256(__version__.encode())
    for name in _CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


CODE_VERSION = _code_version()


def left_behind(name: str, own: bool = True) -> bool:
    """True for a temporary file (`.kb.db.1234.tmp`, its `-journal`, `.x.pickle.1234.tmp`: the
    process id last) whose process is gone: a build that was killed or failed. A build calls it
    before it writes anything, so this process's own count too unless `own` is False."""
    match = re.search(r"\.(\d+)\.tmp(?:-journal|-wal|-shm)?$", name)
    if not match:
        return False
    pid = int(match.group(1))
    if pid == os.getpid():
        return own
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process, still running
        return False
    return False


@dataclass(frozen=True)
class DataFile:
    rel: str  # path as problems name it, e.g. data/claims/aso-2021.yml
    path: Path
    digest: str  # sha256 of the content


def scan(data_dir: Path) -> tuple[list[DataFile], str]:
    """Every file under data_dir with its content hash, and the data fingerprint.

    The fingerprint is `kb.loader.data_fingerprint(data_dir)`, computed in the same single read.
    Raises BuildError for a curated file the build would skip (`claims/x.yaml`: only `.yml` is read).
    """
    data_dir = Path(data_dir)
    misnamed = misnamed_files(data_dir)
    if misnamed:
        from .build import BuildError  # build imports this module

        raise BuildError(misnamed)
    fingerprint = hashlib.sha256()
    files = []
    for path in sorted(p for p in data_dir.rglob("*") if not p.is_dir()):
        content = file_bytes(path)  # an unreadable file is reported when it is parsed
        fingerprint.update(str(path.relative_to(data_dir)).encode())
        fingerprint.update(b"\0")
        fingerprint.update(content)
        fingerprint.update(b"\0")
        rel = str(path.relative_to(data_dir.parent))
        files.append(DataFile(rel, path, hashlib.sha256(content).hexdigest()))
    return files, fingerprint.hexdigest()


class BuildCache:
    """Per-file results and the manifest of the last build, under `folder`."""

    def __init__(self, folder: Path, db_name: str = "kb.db"):
        self.folder = Path(folder)
        self.manifest_path = self.folder / f"manifest-{db_name}.json"
        self.used: set[str] = set()
        self.hits = self.misses = 0

    def _key(self, file: DataFile) -> str:
        return hashlib.sha256(f"{CODE_VERSION}\0{file.rel}\0{file.digest}".encode()).hexdigest()

    def get(self, file: DataFile, compute: Callable[[], Any]) -> Any:
        """The cached result for this file's content, or compute() stored for next time."""
        key = self._key(file)
        self.used.add(key)
        entry = self.folder / f"{key}.pickle"
        try:
            with open(entry, "rb") as f:
                value = pickle.load(f)
            self.hits += 1
            return value
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            pass
        self.misses += 1
        value = compute()
        self._write(entry, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        return value

    def _write(self, path: Path, content: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(content)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only makes the next build slower

    def manifest(self) -> dict[str, Any]:
        """What the last successful build was made from: fingerprint and file digests."""
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if data.get("code") == CODE_VERSION else {}

    def save_manifest(self, fingerprint: str, files: list[DataFile]) -> None:
        data = {"code": CODE_VERSION, "fingerprint": fingerprint,
                "files": {f.rel: f.digest for f in files}}  # fmt: skip
        self._write(self.manifest_path, json.dumps(data).encode())

    def sweep(self) -> None:
        """Remove the temporary files of builds that died while writing an entry."""
        for tmp in self.folder.glob(".*.tmp"):
            if left_behind(tmp.name):
                tmp.unlink(missing_ok=True)

    def prune(self) -> None:
        """Drop entries this build did not use (older contents of files, removed files)."""
        for entry in self.folder.glob("*.pickle"):
            if entry.stem not in self.used:
                entry.unlink(missing_ok=True)
