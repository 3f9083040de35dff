"""Files under `data/fetched/`: raw responses per service and the normalised records.

Every write is atomic (a temporary file in the same folder, checked, then `os.replace`), and a file
is only rewritten when its content changes, so an unchanged re-run leaves `data/` byte for byte.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from kb.cache import left_behind
from kb.doi import doi_slug

from .client import Reply
from .record import same_content


def fetched_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "fetched"


def raw_path(data_dir: Path, service: str, doi: str) -> Path:
    return fetched_dir(data_dir) / service / f"{doi_slug(doi)}.json"


def record_path(data_dir: Path, doi: str) -> Path:
    return fetched_dir(data_dir) / "records" / f"{doi_slug(doi)}.json"


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write obj as JSON to path atomically; the old file stays whole if anything fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if json.loads(tmp.read_text(encoding="utf-8")) != obj:  # pragma: no cover - disk trouble
            raise OSError(f"{tmp} did not read back as written")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def sweep(data_dir: Path) -> None:
    """Remove the temporary files of ingest runs that were killed while writing (their process is
    gone), so they are neither read nor committed."""
    for tmp in fetched_dir(data_dir).rglob(".*.tmp"):
        if left_behind(tmp.name, own=False):
            tmp.unlink(missing_ok=True)


def read_json(path: Path) -> Any:
    """The JSON in path, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _holds(obj: Any, doi: str) -> bool:
    """True when obj is a stored dict about `doi` (a file copied or renamed by hand is not)."""
    return isinstance(obj, dict) and str(obj.get("doi") or "").lower() == doi.lower()


def load_record(data_dir: Path, doi: str) -> dict[str, Any] | None:
    """The stored record of `doi`, or None when there is none (or the file holds another DOI)."""
    rec = read_json(record_path(data_dir, doi))
    return rec if _holds(rec, doi) else None


def load_raw(data_dir: Path, service: str, doi: str) -> dict[str, Any] | None:
    """The stored good response of `service` for `doi` (with `body` and `retrieved_at`), or None."""
    raw = read_json(raw_path(data_dir, service, doi))
    return raw if _holds(raw, doi) and "body" in raw else None


def save_raw(data_dir: Path, doi: str, reply: Reply, retrieved_at: str) -> bool:
    """Keep a good response (200 with a JSON body); True when the file changed. Errors are never saved."""
    if not reply.ok:
        return False
    path = raw_path(data_dir, reply.service, doi)
    old = read_json(path)
    if isinstance(old, dict) and old.get("body") == reply.body:
        return False
    write_json_atomic(
        path,
        {
            "doi": doi,
            "service": reply.service,
            "url": reply.url,
            "status": reply.status,
            "retrieved_at": retrieved_at,
            "headers": reply.headers,
            "body": reply.body,
        },
    )
    return True


def save_record(data_dir: Path, record: dict[str, Any]) -> bool:
    """Write the normalised record unless only its retrieval time changed; True when written."""
    if same_content(load_record(data_dir, record["doi"]), record):
        return False
    write_json_atomic(record_path(data_dir, record["doi"]), record)
    return True
