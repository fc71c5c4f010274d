"""`wfm rta serve` as a real process against the twin; `wfm rta status` reads what it reports."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.rta.harness import NOW_MS, VerintClient, eventually, pause, truth
from wfmcli.cli.main import app
from wfmcli.sim import RunningTwin, start_twin

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def twin() -> Iterator[RunningTwin]:
    running = start_twin(seed=5, agents=30, queues=3, days=0, live=True, now_ms=NOW_MS,
                         control=True)
    try:
        yield running
    finally:
        running.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(path: Path, twin: RunningTwin, port: int) -> None:
    path.write_text(f"""
version: 1
scopes:
  lab:
    source:
      base_url: {twin.base_url}
      credentials:
        - client_id: {twin.client_id}
          client_secret: ${{LAB_SECRET}}
      licensed_role: Contact Center Agent
    destinations:
      verint:
        profile: verint
        timezone: Europe/Berlin
        rta:
          listen: 127.0.0.1:{port}
          heartbeat: 1s
""", encoding="utf-8")


def serve(twin: RunningTwin, tmp_path: Path, config: Path, *args: str
          ) -> subprocess.Popen[bytes]:
    """`wfm rta serve ARGS` as its own process, on the twin, without proxies."""
    env = {**os.environ, "WFM_CONFIG": str(config), "WFM_DATA_DIR": str(tmp_path / "data"),
           "LAB_SECRET": twin.client_secret}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "wfmcli", "rta", "serve", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_serve_status_and_sigterm(twin: RunningTwin, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.yaml"
    write_config(config, twin, port)
    process = serve(twin, tmp_path, config, "lab/verint")
    try:
        pause(twin)
        expected = truth(twin, "verint")

        async def watch() -> VerintClient:
            client = await VerintClient("127.0.0.1", port).start()
            await eventually(lambda: client.latest == expected, timeout=30, what="snapshot")
            await eventually(lambda: client.links.count("1") >= 2, what="heartbeats")
            status_file = tmp_path / "data" / "rta" / "lab__verint.json"
            await eventually(status_file.exists, what="status file")
            result = CliRunner().invoke(app, ["rta", "status", "--json"],
                                        env={"WFM_DATA_DIR": str(tmp_path / "data")})
            assert result.exit_code == 0, result.output
            [status] = json.loads(result.stdout)["data"]
            assert status["target"] == "lab/verint" and status["running"]
            assert status["agents"] == len(expected) and status["ready"]
            process.send_signal(signal.SIGTERM)
            await eventually(lambda: "4" in client.links, what="shutdown link status")
            await client.stop()
            return client

        started = time.monotonic()
        asyncio.run(watch())
        assert process.wait(timeout=15) == 0
        print(f"relay process: snapshot, status and stop in {time.monotonic() - started:.2f} s")
        assert not (tmp_path / "data" / "rta" / "lab__verint.json").exists()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)


def test_serve_without_rta_settings_is_a_config_error(twin: RunningTwin, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    write_config(config, twin, 7100)
    config.write_text(config.read_text().split("        rta:")[0], encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(config), "rta", "serve", "lab/verint"],
                                env={"LAB_SECRET": "x"})
    assert result.exit_code == 3
    assert "has no rta settings" in result.output


def test_serve_scope_feeds_every_destination_and_logs_json_lines(
    twin: RunningTwin, tmp_path: Path
) -> None:
    verint_port, iex_port = free_port(), free_port()
    config = tmp_path / "config.yaml"
    write_config(config, twin, verint_port)
    config.write_text(config.read_text() + f"""
      iex:
        profile: nice-iex
        timezone: Europe/Berlin
        agent_id: employee_id
        rta:
          listen: 127.0.0.1:{iex_port}
""", encoding="utf-8")
    process = serve(twin, tmp_path, config, "lab", "--json")
    try:
        pause(twin)
        expected = truth(twin, "verint")

        async def clients() -> None:
            verint = await VerintClient("127.0.0.1", verint_port).start()
            await eventually(lambda: verint.latest == expected, timeout=30, what="Verint")
            reader, writer = await asyncio.open_connection("127.0.0.1", iex_port)
            lines = [await reader.readline() for _ in expected]
            assert {line[:16].strip().decode() for line in lines} == {
                u.employee_id for u in twin.org.users if u.licensed}
            writer.close()
            status_files = [tmp_path / "data" / "rta" / f"lab__{d}.json" for d in ("verint", "iex")]
            await eventually(lambda: all(p.exists() for p in status_files), what="status files")
            await asyncio.sleep(0.3)  # the disconnect is noticed and logged
            process.send_signal(signal.SIGTERM)
            await verint.stop()

        asyncio.run(clients())
        assert process.wait(timeout=15) == 0
        logs = [json.loads(line) for line in process.stderr.read().decode().splitlines()
                if line]  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)
    messages = [(entry["level"], entry["message"]) for entry in logs]
    assert any(level == "INFO" and "connected" in text for level, text in messages)
    assert any(level == "INFO" and "disconnected" in text for level, text in messages)
    assert {"time", "level", "logger", "message"} <= set(logs[0])


def test_preview_prints_the_records_of_a_few_twin_agents(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("""
version: 1
scopes:
  lab:
    source:
      base_url: http://127.0.0.1:9
      credentials: [{client_id: x, client_secret: y}]
      licensed_role: Contact Center Agent
    destinations:
      aspect:
        profile: alvaria
        timezone: UTC
        agent_id: employee_id
        rta: {endpoint: "tcp://127.0.0.1:9"}
""", encoding="utf-8")
    result = CliRunner().invoke(app, ["-c", str(config), "rta", "preview", "lab/aspect",
                                      "--agents", "3"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "# snapshot" and lines[1] == "H20260310150000\\r\\n"
    assert len([line for line in lines if line.startswith("AE")]) == 4  # 3 + the change
    assert "placeholders" in result.stdout
