"""`kb serve` builds only when data/ changed, and serves the KB over real HTTP on loopback."""

from __future__ import annotations

from pathlib import Path

import httpx

from kb.serve import PUBLIC_SETTINGS, datasette_args, ensure_built, publish_options


def test_serve_builds_when_missing_then_only_when_data_changes(
    data_copy: Path, tmp_path: Path
) -> None:
    db_path = tmp_path / "kb.db"
    assert ensure_built(data_copy, db_path) is not None  # missing: built
    stamp = db_path.stat().st_mtime_ns
    assert ensure_built(data_copy, db_path) is None  # unchanged: not rebuilt
    assert db_path.stat().st_mtime_ns == stamp
    (data_copy / "faq.yml").write_text((data_copy / "faq.yml").read_text() + "\n# edited\n")
    assert ensure_built(data_copy, db_path) is not None  # changed: rebuilt


def test_public_mode_is_immutable_and_locked_down(kb_db: Path, tmp_path: Path) -> None:
    args = datasette_args(kb_db, tmp_path / "metadata.yml", "127.0.0.1", 8001, public=True)
    assert "-i" in args and "--inspect-file" in args
    settings = {args[i + 1]: args[i + 2] for i, a in enumerate(args) if a == "--setting"}
    assert settings == PUBLIC_SETTINGS
    assert settings["default_allow_sql"] == "off" and settings["allow_download"] == "off"


def test_kb_serve_answers_over_http(kb_server: str) -> None:
    versions = httpx.get(f"{kb_server}/-/versions.json", timeout=10).json()
    assert versions["datasette"]["version"].startswith("0.65.")
    claims = httpx.get(f"{kb_server}/kb/claims.json?_shape=array&_size=max", timeout=10).json()
    assert len(claims) >= 25
    assert {c["status"] for c in claims} >= {"verified", "unverified"}


def test_published_instances_get_the_public_settings() -> None:
    import subprocess
    import sys

    printed = subprocess.run([sys.executable, "-m", "kb.serve", "--extra-options"],
                             capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert printed == publish_options().split()
    settings = {printed[i + 1]: printed[i + 2] for i, a in enumerate(printed) if a == "--setting"}
    assert settings == PUBLIC_SETTINGS
