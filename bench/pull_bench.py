"""Benchmark: pull one day at 15 minutes for a large org from the twin.

    .venv/bin/python bench/pull_bench.py                      # 20,000 agents, 200 queues
    .venv/bin/python bench/pull_bench.py --agents 2000 --queues 40 --sets 2

The twin (analytics included) runs in a child process so the peak memory printed is the pull's own.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wfmcli.genesys.auth import Credential
from wfmcli.pull import PullSource, PullSpec, pull
from wfmcli.timegrid import local_midnight

DAY = date(2026, 3, 10)
ZONE = "Europe/Berlin"


def serve(args: argparse.Namespace, ready: Any, stop: Any) -> None:
    from wfmcli.sim import start_twin

    zone = ZoneInfo(ZONE)
    now = local_midnight(DAY + timedelta(days=1), zone).to_pydatetime() + timedelta(hours=2)
    began = time.monotonic()
    twin = start_twin(
        seed=1,
        agents=args.agents,
        queues=args.queues,
        days=2,
        live=False,
        now_ms=int(now.astimezone(UTC).timestamp() * 1000),
        credentials=args.sets,
    )
    ready.put(
        {
            "base_url": twin.base_url,
            "credentials": [(c.client_id, c.client_secret) for c in twin.credentials],
            "legs": len(twin.runtime.center.legs),
            "build_s": time.monotonic() - began,
        }
    )
    stop.wait()
    twin.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--queues", type=int, default=200)
    parser.add_argument("--sets", type=int, default=1, help="credential sets")
    args = parser.parse_args()
    context = mp.get_context("fork")
    ready, stop = context.Queue(), context.Event()
    child = context.Process(target=serve, args=(args, ready, stop), daemon=True)
    child.start()
    info = ready.get(timeout=3600)
    zone = ZoneInfo(ZONE)
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=zone)
    source = PullSource(
        info["base_url"],
        info["base_url"],
        [Credential(cid, secret) for cid, secret in info["credentials"]],
        licensed_role="Contact Center Agent",
    )
    spec = PullSpec("bench", start, start + timedelta(days=1), zone, 15)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.monotonic()
    result = pull(source, spec, keep_frames=False)
    wall = time.monotonic() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stop.set()
    child.join(30)
    rate_floor_min = result.requests / (300 * args.sets)
    rows = [
        ("org", f"{args.agents:,} users, {args.queues} queues, {args.sets} credential set(s)"),
        ("twin build (child process)", f"{info['build_s']:.1f} s, {info['legs']:,} queue legs"),
        ("licensed agents pulled", f"{result.agents:,}"),
        ("queues pulled", f"{result.queues:,}"),
        *((f"rows {f.frame}", f"{f.rows:,}") for f in result.frames),
        ("wall time", f"{wall:.1f} s"),
        ("peak memory (pull process)", f"{peak_mb:,.0f} MiB (before: {rss_before / 1024:,.0f})"),
        ("API requests", f"{result.requests:,}"),
        *((f"  {name}", f"{count:,}") for name, count in result.requests_by_endpoint.items()),
        ("requests per licensed agent per day", f"{result.requests_per_agent_day:.4f}"),
        ("at 300 requests/min per set, at least", f"{rate_floor_min:.1f} min"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
