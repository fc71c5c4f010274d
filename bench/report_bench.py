"""Render one day at 15 minutes for a large customer into every built-in profile.

    .venv/bin/python bench/report_bench.py [--agents 20000] [--queues 200] [--profile NAME]

Each profile renders in its own process so its peak memory (max RSS) is its own; the frames are
built once per process from a seeded generator (about 1.9 million agent-interval rows at 20,000
agents). Prints wall time, rows written, rows per second and peak memory per profile.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wfmcli import frames  # noqa: E402
from wfmcli.reports.profiles import load_profile  # noqa: E402
from wfmcli.reports.render import Destination, render_reports  # noqa: E402
from wfmcli.timegrid import day_grid  # noqa: E402

ZONE = "America/New_York"
DAY = date(2026, 6, 15)
PROFILES = ["calabrio", "nice-iex", "nice-cxone", "verint", "alvaria", "alvaria-via"]


def build_frames(agents: int, queues: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    starts = day_grid(DAY, ZoneInfo(ZONE), 15)
    n = len(starts)
    queue_ids = np.array([f"q-{i:04d}" for i in range(queues)], dtype=object)
    media = np.array(["voice", "chat", "email"], dtype=object)

    qi = len(starts) * queues * len(media)
    answered = rng.integers(0, 60, qi)
    abandoned = rng.integers(0, 8, qi)
    queue = {
        "interval_start": np.repeat(starts, queues * len(media)),
        "interval_minutes": np.full(qi, 15),
        "queue_id": np.tile(np.repeat(queue_ids, len(media)), n),
        "media": np.tile(media, n * queues),
        "direction": np.full(qi, "inbound", dtype=object),
        "campaign_id": np.full(qi, "", dtype=object),
        "answered": answered,
        "abandoned": abandoned,
        "offered": answered + abandoned,
        "short_abandoned": abandoned // 4,
        "answered_in_sl": answered * 3 // 4,
        "abandoned_in_sl": abandoned // 4,
        "flow_out": np.zeros(qi, dtype=np.int64),
        "transferred": answered // 10,
    }
    queue["queue_name"] = np.char.add("Queue ", queue["queue_id"].astype(str)).astype(object)
    for name in frames.FRAMES["queue_interval"].names:
        if name not in queue:
            queue[name] = (
                answered * 1.0
                if frames.FRAMES["queue_interval"].column(name).kind == "count"
                else rng.random(qi) * 500 * (answered + 1)
            )
    queue["sl_threshold_s"] = np.full(qi, 20.0)
    queue["sl_target"] = np.full(qi, 0.8)

    ai = n * agents
    user_ids = np.array([f"u-{i:06d}" for i in range(agents)], dtype=object)
    agent: dict[str, object] = {
        "interval_start": np.repeat(starts, agents),
        "interval_minutes": np.full(ai, 15),
        "user_id": np.tile(user_ids, n),
        "agent_id": np.tile(
            np.array([f"agent{i}@example.com" for i in range(agents)], dtype=object), n
        ),
        "agent_name": np.tile(np.array([f"Agent {i}" for i in range(agents)], dtype=object), n),
    }
    for column in frames.FRAMES["agent_interval"].columns[5:]:
        agent[column.name] = (
            rng.integers(0, 5, ai) if column.kind == "count" else np.round(rng.random(ai) * 900, 1)
        )

    agent_queue = {
        "interval_start": agent["interval_start"],
        "interval_minutes": agent["interval_minutes"],
        "user_id": agent["user_id"],
        "agent_id": agent["agent_id"],
        "agent_name": agent["agent_name"],
        "queue_id": np.tile(queue_ids[np.arange(agents) % queues], n),
        "media": np.full(ai, "voice", dtype=object),
        "direction": np.full(ai, "inbound", dtype=object),
    }
    agent_queue["queue_name"] = np.tile(
        np.array([f"Queue q-{i % queues:04d}" for i in range(agents)], dtype=object), n
    )
    for column in frames.FRAMES["agent_queue_interval"].columns[9:]:
        agent_queue[column.name] = (
            rng.integers(0, 5, ai) if column.kind == "count" else np.round(rng.random(ai) * 900, 1)
        )

    changes = 24
    si = agents * changes
    day_start = starts[0]
    offsets = np.sort(rng.integers(0, 86_000_000, (agents, changes)), axis=1).ravel()
    status_start = day_start + pd.to_timedelta(offsets, unit="ms")
    presence = np.array(["AVAILABLE", "ON_QUEUE", "BREAK", "MEAL", "OFFLINE"], dtype=object)
    routing = np.array(["OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING"], dtype=object)
    status = {
        "user_id": np.repeat(user_ids, changes),
        "agent_id": np.repeat(agent["agent_id"][:agents], changes),  # type: ignore[index]
        "agent_name": np.repeat(agent["agent_name"][:agents], changes),  # type: ignore[index]
        "start": status_start,
        "end": status_start + pd.Timedelta(minutes=3),
        "system_presence": presence[rng.integers(0, len(presence), si)],
        "secondary_presence": np.full(si, "", dtype=object),
        "routing_status": routing[rng.integers(0, len(routing), si)],
    }
    built = {
        "queue_interval": pd.DataFrame(queue),
        "agent_interval": pd.DataFrame(agent),
        "agent_queue_interval": pd.DataFrame(agent_queue),
        "agent_status": pd.DataFrame(status),
    }
    return {name: frames.coerce(name, df)[frames.FRAMES[name].names] for name, df in built.items()}


def run_one(profile_name: str, agents: int, queues: int) -> dict[str, object]:
    data = build_frames(agents, queues)
    frames_mb = _rss_mb()
    zone = ZoneInfo(ZONE)
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        written = render_reports(
            data,
            load_profile(profile_name),
            Destination(ZONE),
            datetime(DAY.year, DAY.month, DAY.day, tzinfo=zone),
            datetime(DAY.year, DAY.month, DAY.day + 1, tzinfo=zone),
            Path(folder),
        )
        seconds = time.perf_counter() - began
    rows = sum(f.rows for f in written)
    return {
        "profile": profile_name,
        "files": len(written),
        "rows": rows,
        "megabytes": round(sum(f.bytes for f in written) / 1e6, 1),
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "frames_rss_mb": round(frames_mb),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _rss_mb() -> float:
    """Resident memory now (Linux), so the frames' share of the peak can be told apart."""
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    return pages * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--queues", type=int, default=200)
    parser.add_argument("--profile", help="render only this profile, in this process")
    args = parser.parse_args()
    if args.profile:
        print(json.dumps(run_one(args.profile, args.agents, args.queues)))
        return
    results = []
    for name in PROFILES:
        command = [
            sys.executable,
            __file__,
            "--profile",
            name,
            "--agents",
            str(args.agents),
            "--queues",
            str(args.queues),
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    print(f"one day at 15 minutes ({ZONE}), {args.agents:,} agents, {args.queues} queues")
    header = ("profile", "files", "rows", "MB", "seconds", "rows/s", "frames MB", "peak RSS MB")
    print("{:<12} {:>6} {:>10} {:>7} {:>8} {:>10} {:>10} {:>12}".format(*header))
    for r in results:
        print(
            f"{r['profile']:<12} {r['files']:>6} {r['rows']:>10,} {r['megabytes']:>7} "
            f"{r['seconds']:>8} {r['rows_per_second']:>10,} {r['frames_rss_mb']:>10} "
            f"{r['peak_rss_mb']:>12}"
        )
    total = sum(float(r["seconds"]) for r in results)  # type: ignore[arg-type]
    print(f"all profiles: {total:.1f} s of rendering (frame generation excluded)")


if __name__ == "__main__":
    main()
