"""The relay's start and restart: first request to Genesys, full snapshot, correct snapshot.

Run: .venv/bin/python bench/restart_bench.py [--agents 22222] [--sets 1] [--down 3]

The twin runs in this process (a thread), `wfm rta serve` in its own process, and a Verint-style
client here that reconnects whenever the relay goes. The relay is started cold (no saved state),
stopped with SIGTERM, the twin runs on for --down seconds (states change, one agent loses the
licensing role), and the relay is started again from its saved state. For each start the twin's
clock is paused at the launch, so "correct" has one meaning: every agent at the client in the
state the twin holds, the leaver logged out. Times are from the launch of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from rta_bench import bench_twin, config_text, free_port  # noqa: E402

from tests.rta.harness import pause, resume, truth  # noqa: E402
from wfmcli.sim import RunningTwin  # noqa: E402


class Client:
    """Keeps, per connection, the latest (code, reason) per agent and when it was complete."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.latest: dict[str, tuple[str, str]] = {}
        self.connected_at = 0.0
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port,
                                                               limit=1 << 20)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            self.latest = {}
            self.connected_at = time.monotonic()
            try:
                while line := await reader.readline():
                    fields = line.decode().rstrip("\r\n").split("|")
                    if len(fields) > 9 and fields[9] == "0":
                        self.latest[fields[1]] = (fields[4], fields[8])
            except OSError:
                pass
            finally:
                writer.close()


async def _start(args: argparse.Namespace, twin: RunningTwin, client: Client, env: dict[str, str],
                 expected: dict[str, tuple[str, str]], agents: int
                 ) -> tuple[subprocess.Popen[Any], dict[str, float]]:
    requests0, tokens0 = twin.server.requests, twin.server.tokens.issued
    launched = time.monotonic()
    relay = subprocess.Popen([sys.executable, "-m", "wfmcli", "-q", "rta", "serve",
                              "bench/verint"], env=env)
    marks: dict[str, float] = {}
    while "correct" not in marks and time.monotonic() - launched < args.timeout:
        now = time.monotonic() - launched
        if "token" not in marks and twin.server.tokens.issued > tokens0:
            marks["token"] = now
        if "request" not in marks and twin.server.requests > requests0:
            marks["request"] = now
        if client.connected_at > launched:
            if "snapshot" not in marks and len(client.latest) >= agents:
                marks["snapshot"] = now
            if client.latest == expected:
                marks["correct"] = now
        if relay.poll() is not None:
            break
        await asyncio.sleep(0.005)
    return relay, marks


async def _stop(relay: subprocess.Popen[Any]) -> float:
    started = time.monotonic()
    relay.send_signal(signal.SIGTERM)
    await asyncio.to_thread(relay.wait, 30)
    return time.monotonic() - started


def _settled(twin: RunningTwin) -> dict[str, tuple[str, str]]:
    """What the client must hold once the twin is paused. The pause freezes the twin's clock,
    but its contact center runs the events up to that moment on its next tick: the truth read
    at once can miss the last of them, so read until two reads a while apart agree."""
    seen = truth(twin, "verint")
    for _ in range(50):
        time.sleep(0.2)
        again = truth(twin, "verint")
        if again == seen:
            break
        seen = again
    return seen


def _leave(twin: RunningTwin) -> str:
    leaver = next(u for u in twin.org.users if u.licensed)
    leaver.role_ids = tuple(r for r in leaver.role_ids if r != twin.org.licensed_role.id)
    leaver.licensed = False
    return leaver.username


async def run_bench(args: argparse.Namespace) -> None:
    twin, build_s = bench_twin(args, control=True)
    try:
        await _measure(args, twin, build_s)
    finally:
        twin.stop()


async def _measure(args: argparse.Namespace, twin: RunningTwin, build_s: float) -> None:
    work = Path(tempfile.mkdtemp(prefix="wfm-restart-bench-"))
    port = free_port()
    creds = [{"client_id": c.client_id, "client_secret": c.client_secret}
             for c in twin.credentials]
    (work / "config.yaml").write_text(config_text(twin.base_url, creds, port))
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(PYTHONPATH=str(ROOT), WFM_CONFIG=str(work / "config.yaml"), WFM_DATA_DIR=str(work))
    client = Client(port)
    client.task = asyncio.create_task(client.run())
    columns: dict[str, dict[str, float]] = {}
    stops: list[float] = []

    pause(twin)
    expected = _settled(twin)
    relay, columns["cold start"] = await _start(args, twin, client, env, expected, len(expected))
    resume(twin, args.speed)
    await asyncio.sleep(args.run)  # running: the state file is written as states change
    stops.append(await _stop(relay))
    saved = sorted((work / "rta" / "state").glob("*.json"))
    size = saved[0].stat().st_size if saved else 0

    await asyncio.sleep(args.down)  # down: states move on, one agent leaves the role
    pause(twin)
    leaver = _leave(twin)
    expected = {**_settled(twin), leaver: ("27", "")}
    relay, columns["restart (saved state)"] = await _start(args, twin, client, env, expected,
                                                           len(expected))
    stops.append(await _stop(relay))
    if client.task is not None:
        client.task.cancel()

    print(f"twin: {args.agents:,} agents ({len(expected) - 1:,} licensed), {args.sets} "
          f"credential set(s), built in {build_s:.1f} s; relay down {args.down:g} s; "
          f"state file {size / 1e6:.1f} MB")
    names = list(columns)
    rows = [("token request at the twin", "token"),
            ("first API request at the twin", "request"),
            ("full snapshot at the client", "snapshot"),
            ("correct snapshot at the client", "correct")]
    width = 32
    print(f"{'seconds after launch':<{width}}" + "".join(f"{n:>24}" for n in names))
    for label, key in rows:
        cells = "".join(f"{columns[n][key]:>24.2f}" if key in columns[n] else f"{'never':>24}"
                        for n in names)
        print(f"{label:<{width}}{cells}")
    print(f"{'stop after SIGTERM':<{width}}" + "".join(f"{s:>24.2f}" for s in stops))
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=22_222)  # 20,000 licensed
    parser.add_argument("--sets", type=int, default=1)
    parser.add_argument("--speed", type=float, default=5.0)
    parser.add_argument("--run", type=float, default=12.0, help="seconds the first relay runs")
    parser.add_argument("--down", type=float, default=3.0, help="seconds the relay is down")
    parser.add_argument("--timeout", type=float, default=90.0)
    asyncio.run(run_bench(parser.parse_args()))


if __name__ == "__main__":
    main()
