"""The RTA relay under load: twin -> `wfm rta serve` (Verint TCP feed) -> a WFM client.

Run: .venv/bin/python bench/rta_bench.py [--agents 20000] [--sets 5] [--speed 30] [--duration 30]
         [--burst-factor 4 --burst-s 5 --after-s 10]

Three processes, as in production: the twin (its own process, so its CPU is not the relay's),
the relay (`wfm rta serve`, measured from /proc: CPU and peak RSS), and this process as the WFM
client. The twin stamps the wall-clock time at which it publishes each activity event; latency is
the client's receive time minus that stamp, matched on (agent, state timestamp). The event rate
scales with agents x speed. Then an overload phase: the twin runs --burst-factor times faster for
--burst-s seconds; the relay keeps only the latest state per agent while it is behind, and the
table gives p99 per second after the burst and when it is back under the goal. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AT_MS = 1_773_154_800_000  # 2026-03-10 15:00 UTC: shifts are on


# -- the twin child ---------------------------------------------------------------------------


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def bench_twin(args: argparse.Namespace, *, control: bool = False) -> tuple[Any, float]:
    """The benches' org: --agents (9 in 10 licensed), a queue per 100, --sets credential sets,
    live at --speed from a working afternoon; and how long it took to build."""
    from wfmcli.sim import start_twin

    built = time.perf_counter()
    twin = start_twin(seed=1, agents=args.agents, queues=max(4, args.agents // 100), days=0,
                      live=True, speed=args.speed, credentials=args.sets, now_ms=AT_MS,
                      control=control)
    return twin, time.perf_counter() - built


def twin_child(args: argparse.Namespace) -> None:
    from wfmcli.sim import notify

    twin, build_s = bench_twin(args)
    twin.faults.rate_limit_per_minute = args.rate_limit
    published: list[tuple[str, int, int, int]] = []
    original = notify._event
    names = {u.id: u.username for u in twin.org.users}

    def stamped(topic: str, body: dict[str, Any]) -> str:
        if topic.endswith(".activity"):
            presence = _ms(body["presence"]["modifiedDate"])
            routing = _ms(body["routingStatus"]["startTime"])
            published.append((names[body["id"]], presence, max(presence, routing),
                              int(time.time() * 1000)))
        return original(topic, body)

    notify._event = stamped  # type: ignore[assignment]

    def burst(speed: float) -> None:
        twin.runtime.set_clock(twin.runtime.now_ms(), speed)

    # SIGUSR1 starts the overload phase, SIGUSR2 ends it (the clock keeps its place).
    signal.signal(signal.SIGUSR1, lambda *_: burst(args.speed * args.burst_factor))
    signal.signal(signal.SIGUSR2, lambda *_: burst(args.speed))
    creds = [{"client_id": c.client_id, "client_secret": c.client_secret}
             for c in twin.credentials]
    print(json.dumps({"base_url": twin.base_url, "credentials": creds,
                      "build_s": build_s}), flush=True)
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    while not stop[0]:
        time.sleep(0.2)
    twin.stop()
    Path(args.log).write_text(json.dumps(published), encoding="utf-8")


# -- measuring ----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Client:
    def __init__(self) -> None:
        self.records: list[tuple[str, int, int]] = []  # (agent, since ms, received ms)
        self.bytes = 0
        self.snapshot_at: float | None = None
        self.lines = 0

    async def run(self, port: int, agents: int) -> None:
        while True:
            try:
                reader, _ = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
                break
            except OSError:
                await asyncio.sleep(0.1)
        while line := await reader.readline():
            now = int(time.time() * 1000)
            self.bytes += len(line)
            fields = line.decode().split("|")
            if fields[9].strip() != "0":
                continue
            self.lines += 1
            if self.snapshot_at is None and self.lines >= agents:
                self.snapshot_at = time.monotonic()
            self.records.append((fields[1], _ms(fields[3]), now))


def _worst_seconds(window: list[tuple[str, int, int]], published: dict[tuple[str, int], int],
                   start_ms: float, count: int = 5) -> str:
    """The 1 s windows with the highest p99: a periodic stall shows as evenly spaced seconds."""
    seconds: dict[int, list[float]] = {}
    for agent, since, received in window:
        at = published.get((agent, since))
        if at is not None:
            seconds.setdefault(int((received - start_ms) // 1000), []).append(received - at)
    worst = sorted(seconds, key=lambda s: percentile(seconds[s], 0.99), reverse=True)[:count]
    return "  ".join(f"{s}: {percentile(seconds[s], 0.99):.0f}" for s in sorted(worst))


def config_text(base_url: str, credentials: list[dict[str, str]], port: int) -> str:
    creds = "".join(f"        - client_id: {c['client_id']}\n"
                    f"          client_secret: {c['client_secret']}\n" for c in credentials)
    return (f"version: 1\nscopes:\n  bench:\n    source:\n      base_url: {base_url}\n"
            f"      credentials:\n{creds}      licensed_role: Contact Center Agent\n"
            f"    destinations:\n      verint:\n        profile: verint\n"
            f"        timezone: UTC\n        rta:\n          listen: 127.0.0.1:{port}\n")


class Burst:
    """The overload phase: when it ran, what the relay counted, and the latency afterwards."""

    def __init__(self, started: float, ended: float, until: float, before: list[dict[str, Any]],
                 after: list[dict[str, Any]], first: int) -> None:
        self.started, self.ended, self.until = started, ended, until  # epoch ms
        self.before, self.after, self.first = before, after, first

    def _delta(self, key: str) -> float:
        return sum(s[key] for s in self.after) - sum(s[key] for s in self.before)

    def rows(self, client: Client, published: dict[tuple[str, int], int], goal: float
             ) -> list[tuple[str, str]]:
        seconds: dict[int, list[float]] = {}
        for agent, since, received in client.records[self.first:]:
            at = published.get((agent, since))
            if at is not None and received >= self.started:
                seconds.setdefault(int((received - self.ended) // 1000), []).append(
                    received - at)
        during = [v for second, values in seconds.items() if second < 0 for v in values]
        after = sorted(second for second in seconds if second >= 0)
        # The first second after the burst from which every 1 s window's p99 is under goal.
        recovered = next((second for second in after
                          if all(percentile(seconds[s], 0.99) < goal for s in after
                                 if s >= second)), None)
        length = (self.ended - self.started) / 1000
        timeline = " ".join(f"{percentile(seconds[s], 0.99):.0f}" for s in after[:10])
        return [
            ("overload: events in during the burst", f"{self._delta('events_in') / length:,.0f} /s"
             f" for {length:.1f} s"),
            ("overload: coalesced (latest state won)", f"{self._delta('coalesced'):,.0f}"),
            ("overload: latency p99 during the burst", f"{percentile(during, 0.99):.0f} ms"),
            ("overload: p99 per second after (ms)", timeline or "-"),
            (f"overload: p99 back under {goal:.0f} ms",
             "never" if recovered is None else f"within {recovered + 1} s after the burst"),
        ]


async def overload_phase(args: argparse.Namespace, twin: subprocess.Popen[Any],
                         http: Any, client: Client) -> Burst:
    first = len(client.records)
    before = (await http.get("/status")).json()["sources"]
    started = time.time() * 1000
    twin.send_signal(signal.SIGUSR1)
    await asyncio.sleep(args.burst_s)
    twin.send_signal(signal.SIGUSR2)
    ended = time.time() * 1000
    after = (await http.get("/status")).json()["sources"]
    await asyncio.sleep(args.after_s)
    return Burst(started, ended, time.time() * 1000, before, after, first)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--sets", type=int, default=5)
    parser.add_argument("--speed", type=float, default=30.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--rate-limit", type=int, default=300, help="twin requests/min/token")
    parser.add_argument("--burst-factor", type=float, default=4.0,
                        help="overload phase: the twin's speed times this (0: no phase)")
    parser.add_argument("--burst-s", type=float, default=5.0, help="overload phase length")
    parser.add_argument("--after-s", type=float, default=10.0, help="watched after the burst")
    parser.add_argument("--goal-ms", type=float, default=0.0,
                        help="p99 goal (default: 50 ms up to 20,000 agents, 100 ms above)")
    parser.add_argument("--twin-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--log", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.twin_child:
        twin_child(args)
        return
    children: list[subprocess.Popen[Any]] = []
    try:
        asyncio.run(run_bench(args, children))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()


async def run_bench(args: argparse.Namespace, children: list[subprocess.Popen[Any]]) -> None:
    work = Path(tempfile.mkdtemp(prefix="wfm-rta-bench-"))
    log = work / "published.json"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = str(ROOT)
    twin = subprocess.Popen(
        [sys.executable, __file__, "--twin-child", "--agents", str(args.agents), "--sets",
         str(args.sets), "--speed", str(args.speed), "--rate-limit", str(args.rate_limit),
         "--burst-factor", str(args.burst_factor), "--log", str(log)],
        stdout=subprocess.PIPE, env=env, text=True)
    children.append(twin)
    assert twin.stdout is not None
    info = json.loads(twin.stdout.readline())
    print(f"twin: {args.agents} agents, {args.sets} credential sets, speed {args.speed:g}, "
          f"built in {info['build_s']:.1f} s")
    port, ops = free_port(), free_port()
    (work / "config.yaml").write_text(config_text(info["base_url"], info["credentials"], port))
    relay_env = {**env, "WFM_CONFIG": str(work / "config.yaml"), "WFM_DATA_DIR": str(work)}
    started = time.monotonic()
    relay = subprocess.Popen(
        [sys.executable, "-m", "wfmcli", "-q", "rta", "serve", "bench/verint",
         "--metrics-port", str(ops)], env=relay_env)
    children.append(relay)
    import httpx

    licensed = sum(1 for n in range(args.agents) if n % 10 != 9)
    client = Client()
    reading = asyncio.create_task(client.run(port, licensed))
    while client.snapshot_at is None:
        await asyncio.sleep(0.2)
        if relay.poll() is not None:
            raise SystemExit("the relay exited")
    snapshot_s = client.snapshot_at - started
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ops}") as http:
        status = (await http.get("/status")).json()
        while any(s["channels_connected"] < s["channels"] for s in status["sources"]):
            await asyncio.sleep(0.5)
            status = (await http.get("/status")).json()
        channels = sum(s["channels"] for s in status["sources"])
        # The post-subscribe resync (one paged read of every user) is start-up, not load.
        while any(s["resync_users"] < s["agents"] or s["resync_pending"] or s["resyncing"]
                  for s in status["sources"]):
            await asyncio.sleep(0.5)
            status = (await http.get("/status")).json()
        await asyncio.sleep(1.0)
        t0, cpu0 = time.monotonic(), cpu_seconds(relay.pid)
        t0_ms = time.time() * 1000
        twin_cpu0 = cpu_seconds(twin.pid)
        first = len(client.records)
        bytes0 = client.bytes
        before = (await http.get("/status")).json()["sources"]
        events0 = sum(s["events_in"] for s in before)
        reconnects0 = sum(s["reconnects"] for s in before)
        resyncs0 = sum(s["resync_users"] for s in before)
        await asyncio.sleep(args.duration)
        elapsed = time.monotonic() - t0
        cpu = cpu_seconds(relay.pid) - cpu0
        twin_cpu = cpu_seconds(twin.pid) - twin_cpu0
        final = (await http.get("/status")).json()
        events = sum(s["events_in"] for s in final["sources"]) - events0
        loop_lag = final["loop_lag_max_ms"]
        reconnects = sum(s["reconnects"] for s in final["sources"]) - reconnects0
        resynced = sum(s["resync_users"] for s in final["sources"]) - resyncs0
        window = client.records[first:]
        sent = client.bytes - bytes0
        burst = None
        if args.burst_factor > 0:
            burst = await overload_phase(args, twin, http, client)
        peak = peak_rss_mb(relay.pid)
    stopping = time.monotonic()
    relay.send_signal(signal.SIGTERM)
    await asyncio.to_thread(relay.wait, 120)
    stop_s = time.monotonic() - stopping
    reading.cancel()
    twin.send_signal(signal.SIGTERM)
    twin.wait(timeout=120)
    published: dict[tuple[str, int], int] = {}
    for agent, presence, both, at in json.loads(log.read_text()):
        published.setdefault((agent, both), at)
        published.setdefault((agent, presence), at)
    latencies = [received - published[(agent, since)] for agent, since, received in window
                 if (agent, since) in published]
    goal = args.goal_ms or (50.0 if licensed <= 20_000 else 100.0)
    rows = [
        ("agents watched", f"{final['agents']:,} over {channels} channels, {args.sets} sets"),
        ("snapshot at client after start", f"{snapshot_s:.2f} s"),
        ("events in (Genesys notifications)", f"{events / elapsed:,.0f} /s"),
        ("changes out (records at the client)", f"{len(window) / elapsed:,.0f} /s"),
        ("latency publish -> client p50", f"{percentile(latencies, 0.50):.1f} ms"),
        ("latency publish -> client p99", f"{percentile(latencies, 0.99):.1f} ms"),
        ("latency samples matched", f"{len(latencies):,} of {len(window):,}"),
        ("worst seconds (s into window: p99 ms)", _worst_seconds(window, published, t0_ms)),
        ("relay event-loop lag, worst of last 10 s", f"{loop_lag:.0f} ms"),
        ("channel reconnects / agents resynced", f"{reconnects:.0f} / {resynced:,.0f}"),
        ("relay CPU", f"{100 * cpu / elapsed:.0f} % of one core"),
        ("twin CPU", f"{100 * twin_cpu / elapsed:.0f} % of one core"),
        ("relay peak RSS", f"{peak:.0f} MB"),
        ("bytes to the sink", f"{sent / elapsed / 1e6:.3f} MB/s"),
        ("measured window", f"{elapsed:.0f} s"),
        *(burst.rows(client, published, goal) if burst is not None else []),
        ("relay stop after SIGTERM", f"{stop_s:.2f} s"),
        ("load average (1 min) at end", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
