"""The history of every claim and source, derived by `kb build` from the git history of `data/`.

One `git log --raw` pass over `sources.yml` and `claims/` lists, commit by commit (oldest first), the
file versions each commit replaced; one `git cat-file --batch` reads them all. Each version is
parsed and its records compared by id (claims) or DOI (sources), so a claim file renamed, or a
claim moved from one file to another, keeps its history. An event says when (the author date),
who, why (the commit message), and which fields changed (old -> new).

The result is cached beside the database, keyed by the commit checked out, so a rebuild with no new
commit runs only `git rev-parse`. Without git, or outside a git checkout (a tarball), history is
unavailable and the build says so; it never fails because of it. Nothing here runs at serve time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .doi import normalize_doi

TRACKED = ("sources.yml", "claims")  # under data/: what has a history
GIT_TIMEOUT = 60.0  # seconds; a git that hangs makes history unavailable, not the build hang
REASON_MAX = 2000  # characters of a commit message kept
NULL_SHA = "0" * 40
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


@dataclass
class History:
    """`rows` for the `history` table; `status` is `available` or `unavailable: <why>`."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    status: str = "available"
    commit: str | None = None


def _git(data_dir: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """Run git in data_dir; raises OSError or subprocess errors (the caller reports them)."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(
        ["git", "-c", "core.quotepath=off", *args], cwd=data_dir, input=stdin, env=env,
        capture_output=True, check=True, timeout=GIT_TIMEOUT,
    ).stdout  # fmt: skip


def _plain(value: Any) -> Any:
    """A YAML value as JSON can hold it (dates as ISO text)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


_PREAMBLE_RE = re.compile(r"^(?:[ \t]*(?:#.*)?\n)*$")  # blank and comment lines only


def _key(path: str, rec: Any) -> str | None:
    if not isinstance(rec, dict):
        return None
    if path == "sources.yml":
        try:
            return normalize_doi(rec.get("doi"))
        except ValueError:
            return None
    key = rec.get("id")
    return key if isinstance(key, str) else None


def _whole(path: str, content: bytes | str) -> dict[str, dict[str, Any]] | None:
    try:
        doc = yaml.load(content, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return None
    if doc is None:
        return {}
    if not isinstance(doc, list):
        return None
    records: dict[str, dict[str, Any]] = {}
    for rec in doc:
        key = _key(path, rec)
        if key is not None:
            records[key] = _plain(rec)
    return records


def parse_version(
    path: str, content: bytes, items: dict[tuple[bool, str], Any] | None = None
) -> dict[str, dict[str, Any]] | None:
    """The records of one version of a tracked file, by id (claims) or DOI (sources); None when it
    is not a YAML list of records (that version is skipped, not read as 'everything removed').

    Each top-level item (`- ` at the start of a line) is parsed on its own and kept in `items` by
    its text, so a later version of the file parses only the items that changed. A file of any
    other layout is parsed whole."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    parts = ("\n" + text).split("\n- ")  # parts[0]: what comes before the first item
    if len(parts) < 2 or not _PREAMBLE_RE.match(parts[0].lstrip("\n") + "\n") or "\n---" in text:
        return _whole(path, text)
    items = {} if items is None else items
    records: dict[str, dict[str, Any]] = {}
    source = path == "sources.yml"
    for part in parts[1:]:
        chunk = "- " + part
        ck = (source, chunk)
        if ck not in items:
            try:
                doc = yaml.load(chunk, Loader=_LOADER)  # noqa: S506 - a safe loader
            except yaml.YAMLError:
                return _whole(path, text)
            if not isinstance(doc, list) or len(doc) != 1:
                return _whole(path, text)
            rec = doc[0]
            key = _key(path, rec)
            items[ck] = (key, _plain(rec) if key is not None else None)
        key, rec = items[ck]
        if key is not None:
            records[key] = rec
    return records


def _tracked(path: str) -> bool:
    return path == "sources.yml" or (path.startswith("claims/") and path.endswith(".yml"))


@dataclass
class _Commit:
    sha: str
    date: str
    author: str
    reason: str
    changes: list[tuple[str | None, str | None, str, str]] = field(default_factory=list)
    # (old path, new path, old blob, new blob)


def _log(data_dir: Path) -> list[_Commit]:
    fmt = "%x1e%H%x1f%aI%x1f%an%x1f%B%x1f"
    out = _git(
        data_dir, "log", "--no-merges", "--topo-order", "--reverse", "--raw", "--no-abbrev",
        "-M", "-z", "--relative", f"--format={fmt}", "--", *TRACKED,
    ).decode("utf-8", "replace")  # fmt: skip
    commits = []
    for chunk in out.split("\x1e")[1:]:
        sha, date, author, reason, raw = chunk.split("\x1f", 4)
        commit = _Commit(sha, date, author, reason.strip()[:REASON_MAX])
        tokens = [t for t in raw.lstrip("\x00\n").split("\x00")]
        i = 0
        while i < len(tokens):
            meta = tokens[i]
            if not meta.startswith(":"):
                i += 1
                continue
            _old_mode, _new_mode, old_sha, new_sha, status = meta[1:].split()
            if status[0] in "RC":
                old_path, new_path = tokens[i + 1], tokens[i + 2]
                i += 3
            else:
                old_path = new_path = tokens[i + 1]
                i += 2
            old = old_path if old_sha != NULL_SHA and _tracked(old_path) else None
            new = new_path if new_sha != NULL_SHA and _tracked(new_path) else None
            if status[0] == "C":
                old = None  # a copy leaves its original where it was
            if old or new:
                commit.changes.append((old, new, old_sha, new_sha))
        commits.append(commit)
    return commits


def _blobs(data_dir: Path, shas: set[str]) -> dict[str, bytes]:
    """Every blob in one `git cat-file --batch`."""
    if not shas:
        return {}
    order = sorted(shas)
    out = _git(data_dir, "cat-file", "--batch", stdin="".join(f"{s}\n" for s in order).encode())
    blobs: dict[str, bytes] = {}
    pos = 0
    for _ in order:
        end = out.index(b"\n", pos)
        head = out[pos:end].split()
        pos = end + 1
        if len(head) < 3 or head[1] != b"blob":  # "<sha> missing"
            continue
        size = int(head[2])
        blobs[head[0].decode()] = out[pos : pos + size]
        pos += size + 1
    return blobs


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    keys = list(old) + [k for k in new if k not in old]
    return [{"field": k, "old": old.get(k), "new": new.get(k)} for k in keys
            if old.get(k) != new.get(k)]  # fmt: skip


def derive(commits: list[_Commit], blobs: dict[str, bytes], folder: str) -> list[dict[str, Any]]:
    """The history rows, from the commits oldest first and the blob contents. Pure."""
    parsed: dict[tuple[str, str], dict[str, dict[str, Any]] | None] = {}
    items: dict[tuple[bool, str], Any] = {}  # a record's text -> (key, record), across versions
    last_good: dict[str, dict[str, dict[str, Any]]] = {}

    def version(path: str | None, sha: str) -> dict[str, dict[str, Any]] | None:
        if path is None:
            return {}
        if (path, sha) not in parsed:
            parsed[(path, sha)] = (
                parse_version(path, blobs[sha], items) if sha in blobs else None
            )  # fmt: skip
        return parsed[(path, sha)]

    rows: list[dict[str, Any]] = []
    seq: dict[tuple[str, str], int] = {}
    for c in commits:
        before: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        after: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for old_path, new_path, old_sha, new_sha in c.changes:
            old = version(old_path, old_sha)
            if old is None:  # that version was not readable: compare with the last one that was
                old = last_good.get(old_path or "", {})
            new = version(new_path, new_sha)
            if new is None:  # an unreadable version changes nothing we can name
                continue
            if new_path:
                last_good[new_path] = new
            same = old_path == new_path  # records parsed from the same text are unchanged
            for path, recs, other, into in (
                (old_path, old, new, before), (new_path, new, old, after)
            ):  # fmt: skip
                kind = "source" if path == "sources.yml" else "claim"
                for key, rec in recs.items():
                    if not (same and other.get(key) is rec):
                        into[(kind, key)] = (rec, f"{folder}/{path}")
        for ident in list(before) + [k for k in after if k not in before]:
            old_rec, old_file = before.get(ident, (None, None))
            new_rec, new_file = after.get(ident, (None, None))
            if old_rec is None:
                change, fields = "added", []
            elif new_rec is None:
                change, fields = "removed", []
            else:
                fields = _diff(old_rec, new_rec)
                if not fields and old_file == new_file:
                    continue
                change = "changed" if fields else "moved"
            n = seq[ident] = seq.get(ident, 0) + 1
            rows.append({
                "kind": ident[0], "record_id": ident[1], "seq": n, "commit_id": c.sha,
                "date": c.date, "author": c.author, "reason": c.reason, "change": change,
                "fields": fields, "file": new_file or old_file,
                "previous_file": old_file if new_file and old_file and old_file != new_file
                else None,
            })  # fmt: skip
    return rows


def _cache_path(cache_folder: Path, db_name: str) -> Path:
    return Path(cache_folder) / f"history-{db_name}.json"


def load_history(data_dir: Path, cache_folder: Path, db_name: str = "kb.db") -> History:
    """The history of data_dir's claims and sources, cached by the commit checked out."""
    data_dir = Path(data_dir)
    try:
        head = _git(data_dir, "rev-parse", "--verify", "-q", "HEAD").decode().strip()
        inside = _git(data_dir, "rev-parse", "--show-prefix").decode().strip()
    except FileNotFoundError:
        return History(status="unavailable: git is not installed")
    except (OSError, subprocess.SubprocessError):
        return History(status="unavailable: not built from a git checkout with commits")
    if inside.startswith("../") or not head:
        return History(status="unavailable: not built from a git checkout")
    key = f"{_CODE}:{head}:{inside}"
    cache = _cache_path(cache_folder, db_name)
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return History(cached["rows"], "available", head)
    except (OSError, ValueError, AttributeError):
        pass
    try:
        commits = _log(data_dir)
        if not commits:  # e.g. a tarball unpacked inside some other repository
            return History(status="unavailable: no commit of this repository touches the data")
        shas = {s for c in commits for _o, _n, a, b in c.changes for s in (a, b) if s != NULL_SHA}
        rows = derive(commits, _blobs(data_dir, shas), data_dir.name)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return History(status=f"unavailable: git failed ({type(exc).__name__})")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "rows": rows}), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass  # an unwritable cache only makes the next build slower
    return History(rows, "available", head)


def status_changes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events that changed a claim's status, with `old` and `new` status."""
    found = []
    for r in rows:
        for f in r["fields"]:
            if f["field"] == "status":
                found.append({**r, "old": f["old"], "new": f["new"]})
    return found
