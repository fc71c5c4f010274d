"""The relay at a full credential set: 20,000 agents on one set, `socket_closing` on every channel.

Run: .venv/bin/python bench/renewal_bench.py [--agents 22222] [--sets 1] [--speed 5]

The twin runs in this process (a thread), `wfm rta serve` in its own process, and a Verint-style
client here. After the first full snapshot the twin sends `v2.system.socket_closing` on every
socket (Genesys' maintenance close, ~`--grace` seconds before it cuts them), cuts every socket
without a close frame, then evicts
`--evict` of the relay's channels (as a 21st channel of another client would). Between them every
channel expires (the twin shortens their life) and every token expires before another drop.
After each fault
the twin's clock is paused and the client's view is compared with the twin's own state. The table
says whether the relay lived, how many channels the set held at worst, and how long the client
took to be exactly right again.
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

from rta_bench import bench_twin, config_text, free_port, peak_rss_mb  # noqa: E402

from tests.rta.harness import VerintClient, pause, resume, truth  # noqa: E402
from wfmcli.sim import RunningTwin  # noqa: E402


def _mine(twin: RunningTwin) -> dict[str, int]:
    hub = twin.runtime.hub
    counts = {c.client_id: 0 for c in twin.credentials}
    for channel in list(hub.channels.values()):
        counts[channel.client_id] = counts.get(channel.client_id, 0) + 1
    return counts


class Watch:
    """Samples the twin's channels per credential set while faults play out."""

    def __init__(self, twin: RunningTwin) -> None:
        self.twin = twin
        self.worst = 0

    async def run(self) -> None:
        while True:
            self.worst = max(self.worst, *_mine(self.twin).values())
            await asyncio.sleep(0.05)


async def _converge(twin: RunningTwin, client: VerintClient, speed: float, timeout: float
                    ) -> tuple[float | None, int]:
    """Pauses the twin; seconds until the client holds exactly the twin's state (or None)."""
    pause(twin)
    expected = truth(twin, "verint")
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if client.latest == expected:
            resume(twin, speed)
            return time.monotonic() - started, 0
        await asyncio.sleep(0.1)
    wrong = sum(1 for agent, state in expected.items() if client.latest.get(agent) != state)
    resume(twin, speed)
    return None, wrong


async def _status(port: int) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        return dict((await http.get("/status")).json())


def _sum(status: dict[str, Any], key: str) -> int:
    return int(sum(source[key] for source in status["sources"]))


async def run_bench(args: argparse.Namespace, children: list[subprocess.Popen[Any]]) -> None:
    twin, build_s = bench_twin(args, control=True)
    try:
        await _measure(args, twin, build_s, children)
    finally:
        twin.stop()


async def _measure(args: argparse.Namespace, twin: RunningTwin, build_s: float,
                   children: list[subprocess.Popen[Any]]) -> None:
    work = Path(tempfile.mkdtemp(prefix="wfm-renewal-bench-"))
    port, ops = free_port(), free_port()
    creds = [{"client_id": c.client_id, "client_secret": c.client_secret}
             for c in twin.credentials]
    (work / "config.yaml").write_text(config_text(twin.base_url, creds, port))
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(PYTHONPATH=str(ROOT), WFM_CONFIG=str(work / "config.yaml"), WFM_DATA_DIR=str(work))
    relay = subprocess.Popen([sys.executable, "-m", "wfmcli", "-q", "rta", "serve",
                              "bench/verint", "--metrics-port", str(ops)], env=env)
    children.append(relay)
    client = await VerintClient("127.0.0.1", port).start()
    watch = Watch(twin)
    watcher = asyncio.create_task(watch.run())
    rows: list[tuple[str, str]] = [
        ("twin", f"{args.agents:,} agents, {args.sets} credential set(s), speed {args.speed:g}, "
                 f"built in {build_s:.1f} s"),
    ]
    first, wrong = await _converge(twin, client, args.speed, timeout=120)
    status = await _status(ops)
    while (_sum(status, "channels_connected") < _sum(status, "channels")
           or _sum(status, "resync_pending") or any(s["resyncing"] for s in status["sources"])):
        await asyncio.sleep(0.5)  # every channel up and its start-up resync done
        status = await _status(ops)
    rows += [
        ("agents watched / channels", f"{status['agents']:,} / {_sum(status, 'channels')}"),
        ("first correct snapshot after start", "never" if first is None else f"{first:.2f} s"),
    ]
    evictions0 = twin.runtime.hub.evictions
    for round_ in range(args.rounds):
        before = await _status(ops)
        closed = await asyncio.to_thread(twin.socket_closing, args.grace)
        await asyncio.sleep(1.0)
        took, wrong = await _converge(twin, client, args.speed, timeout=args.timeout)
        after = await _status(ops)
        rows.append((f"socket_closing #{round_ + 1} on {closed} sockets",
                     _outcome(relay, took, wrong, before, after)))
    before = await _status(ops)
    dropped = twin.drop_sockets()
    await asyncio.sleep(1.0)
    took, wrong = await _converge(twin, client, args.speed, timeout=args.timeout)
    after = await _status(ops)
    rows.append((f"{dropped} sockets dropped", _outcome(relay, took, wrong, before, after)))
    rows.append(await _expire_channels(twin, client, args, relay, ops))
    before = await _status(ops)
    expired = await asyncio.to_thread(twin.expire_tokens)
    # the reconnects and their resync must get fresh tokens
    dropped = await asyncio.to_thread(twin.drop_sockets)
    await asyncio.sleep(1.0)
    took, wrong = await _converge(twin, client, args.speed, timeout=args.timeout)
    after = await _status(ops)
    rows.append((f"{expired} tokens expired, {dropped} sockets dropped",
                 _outcome(relay, took, wrong, before, after)))
    victims = [c.id for c in list(twin.runtime.hub.channels.values())[: args.evict]]

    async def evict() -> None:
        for channel_id in victims:
            twin.runtime.hub.remove(channel_id)

    before = await _status(ops)
    twin.call(evict())
    await asyncio.sleep(1.0)
    took, wrong = await _converge(twin, client, args.speed, timeout=args.timeout)
    after = await _status(ops)
    rows.append((f"{len(victims)} channels evicted", _outcome(relay, took, wrong, before, after)))
    watcher.cancel()
    rows += [
        ("channels per credential set, worst", f"{watch.worst} (Genesys allows 20)"),
        ("channels the twin had to evict", f"{twin.runtime.hub.evictions - evictions0}"),
        ("relay still running", "yes" if relay.poll() is None else f"NO (exit {relay.poll()})"),
        ("relay peak RSS", f"{peak_rss_mb(relay.pid):.0f} MB" if relay.poll() is None else "-"),
    ]
    stopping = time.monotonic()
    relay.send_signal(signal.SIGTERM)
    await asyncio.to_thread(relay.wait, 60)
    rows += [("relay stop after SIGTERM", f"{time.monotonic() - stopping:.2f} s"),
             ("load average (1 min) at end",
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")]
    await client.stop()
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


async def _expire_channels(twin: RunningTwin, client: VerintClient, args: argparse.Namespace,
                           relay: subprocess.Popen[Any], ops: int) -> tuple[str, str]:
    """Every channel reaches the end of its life at once: the twin shortens it until none of
    the relay's channels is left from before, then gives the new ones a full day again."""
    async def ids() -> set[str]:  # read on the twin's loop, where the channels change
        return set(twin.runtime.hub.channels)

    before = await _status(ops)
    old = await asyncio.to_thread(twin.call, ids())
    twin.set_channel_lifetime(1.0)
    started = time.monotonic()
    while (old & await asyncio.to_thread(twin.call, ids())
           and time.monotonic() - started < args.timeout):
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # let the first replacements expire too: recreation under churn
    twin.set_channel_lifetime(86_400.0)
    await asyncio.sleep(1.0)
    took, wrong = await _converge(twin, client, args.speed, timeout=args.timeout)
    after = await _status(ops)
    return (f"{len(old)} channels expired", _outcome(relay, took, wrong, before, after))


def _outcome(relay: subprocess.Popen[Any], took: float | None, wrong: int,
             before: dict[str, Any], after: dict[str, Any]) -> str:
    if relay.poll() is not None:
        return f"RELAY EXITED ({relay.poll()})"
    verdict = f"correct after {took:.2f} s" if took is not None else f"{wrong:,} agents WRONG"
    delta = {key: _sum(after, key) - _sum(before, key)
             for key in ("renewals", "recreated", "resync_users")}
    return (f"{verdict}; renewed {delta['renewals']}, made anew {delta['recreated']}, "
            f"{delta['resync_users']:,} agents resynced")


def main() -> None:
    parser = argparse.ArgumentParser()
    # 22,222 agents of whom 9 in 10 hold the licensing role: 20,000 watched, 20 full channels.
    parser.add_argument("--agents", type=int, default=22_222)
    parser.add_argument("--sets", type=int, default=1)
    parser.add_argument("--speed", type=float, default=5.0)
    parser.add_argument("--grace", type=float, default=2.0, help="socket_closing to close, s")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--evict", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    children: list[subprocess.Popen[Any]] = []
    try:
        asyncio.run(run_bench(args, children))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()


if __name__ == "__main__":
    main()
