"""wfm demo: the whole historical feed on the embedded twin, offline and deterministic."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import RunWfm
from wfmcli.demo import DESTINATIONS
from wfmcli.errors import ExitCode


def _digests(folder: Path) -> dict[str, str]:
    """Content hash per delivered file, keyed without Calabrio's render-time name suffix."""
    digests = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = path.relative_to(folder).as_posix()
        if "calabrio" in key:
            key = key.rsplit("_", 1)[0]
        digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def test_demo_delivers_a_day_for_every_profile_deterministically(
    tmp_path: Path, run_wfm: RunWfm
) -> None:
    args = ["--day", "2026-03-08", "--agents", "30", "--queues", "4", "--json"]
    first = run_wfm("demo", "--out", str(tmp_path / "a"), *args)
    assert first.exit_code == 0, first.stderr
    result = json.loads(first.stdout)["data"]
    assert [d["name"] for d in result["destinations"]] == [d[0] for d in DESTINATIONS]
    for destination in result["destinations"]:
        assert destination["files"] > 0
        assert destination["offered"] > 0
        assert destination["answered"] + destination["abandoned"] <= destination["offered"] + 50
        assert Path(destination["folder"]).is_dir()
        # the table counts what the files carry, and every contact Genesys reported is in them
        assert destination["unaccounted"] == 0
        assert destination["offered"] == destination["reported"]
        assert destination["reconcile"].endswith("; 0 unaccounted")
    by_name = {d["name"]: d for d in result["destinations"]}
    # 2026-03-08 is New York's spring-forward day: 23 hours, 92 quarter-hours
    assert by_name["nice-iex"]["periods"] == 92
    assert by_name["alvaria"]["periods"] == 48  # Kolkata, 30 minutes
    second = run_wfm("demo", "--out", str(tmp_path / "b"), *args)
    assert second.exit_code == 0, second.stderr
    assert _digests(tmp_path / "a" / "outbox") == _digests(tmp_path / "b" / "outbox")
    status = run_wfm("-c", str(tmp_path / "a" / "config.yaml"), "config", "validate")
    assert status.exit_code == 0, status.stderr
    # the twin is gone: the file says it is a record, and a run on it fails at once, in one line
    config = tmp_path / "a" / "config.yaml"
    assert config.read_text().startswith("# A RECORD ONLY")
    ran = run_wfm("-c", str(config), "run", "demo/nice-iex")
    assert ran.exit_code == ExitCode.CONFIG
    (line,) = ran.stderr.strip().splitlines()
    assert "this configuration is a record only: the demo's twin stopped" in line
