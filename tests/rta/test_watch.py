"""`wfm rta status` and the `wfm rta watch` view, from status files."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from wfmcli.cli.main import app
from wfmcli.cli.rta_cmd import _render
from wfmcli.rta.status import read_all

BODY = {
    "name": "lab/verint", "uptime_s": 12.0, "ready": True, "link": "normal", "agents": 3,
    "by_state": {"IDLE": 2, "BREAK": 1}, "changes_out": 9, "pid": 4242,
    "sources": [{"channels": 1, "channels_connected": 1, "events_in": 40, "reconnects": 2,
                 "resyncs": 3, "last_event_lag_ms": 120.0}],
    "sinks": [{"sink": "tcp-server", "address": "0.0.0.0:7100", "clients": 2, "bytes_sent": 99}],
}


def test_status_reads_files_and_tells_stale_ones(tmp_path: Path) -> None:
    folder = tmp_path / "rta"
    folder.mkdir()
    (folder / "lab__verint.json").write_text(json.dumps(BODY))
    old = folder / "lab__calabrio.json"
    old.write_text(json.dumps({**BODY, "name": "lab/calabrio"}))
    past = time.time() - 60
    os.utime(old, (past, past))
    runner = CliRunner()
    result = runner.invoke(app, ["rta", "status", "--json"], env={"WFM_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    data = {s["target"]: s for s in json.loads(result.stdout)["data"]}
    assert data["lab/verint"]["running"] and not data["lab/calabrio"]["running"]
    assert data["lab/verint"]["events_in"] == 40 and data["lab/verint"]["lag_s"] == 0.12
    table = runner.invoke(app, ["rta", "status"], env={"WFM_DATA_DIR": str(tmp_path)})
    assert "lab/verint" in table.stdout and "tcp-server 0.0.0.0:7100 (2)" in table.stdout


def test_watch_view_shows_states_sinks_and_rates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "rta"
    folder.mkdir()
    (folder / "lab__verint.json").write_text(json.dumps(BODY))
    monkeypatch.setenv("WFM_DATA_DIR", str(tmp_path))
    [status] = read_all("lab/verint")
    console = Console(width=120, record=True)
    console.print(_render(status, 12.5, 3.0))
    text = console.export_text()
    assert "12.5 events/s in" in text and "3.0 changes/s out" in text
    assert "BREAK" in text and "2 clients, 0 dropped" in text


def test_watch_json_streams_status_objects(tmp_path: Path) -> None:
    folder = tmp_path / "rta"
    folder.mkdir()
    (folder / "lab__verint.json").write_text(json.dumps(BODY))
    result = CliRunner().invoke(app, ["rta", "watch", "lab/verint", "--json", "--count", "2",
                                      "--interval", "0.2"], env={"WFM_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == 2 and objects[0]["target"] == "lab/verint"
    assert objects[1]["agents"] == 3 and "events_per_s" in objects[1]
