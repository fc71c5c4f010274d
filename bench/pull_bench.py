"""Benchmark: peak memory and time of one day's `wfm pull` (15-minute intervals) against the twin.

    .venv/bin/python bench/pull_bench.py                          # 2,500 / 5,000 / 10,000 / 20,000
    .venv/bin/python bench/pull_bench.py --agents 40000 --sets 2  # one more point
    .venv/bin/python bench/pull_bench.py --agents 2500 --render nice-iex

`--agents` counts licensed agents; the twin's org has 1/0.9 as many users (every tenth user is
unlicensed). For each size the twin (analytics included) runs in its own child process, and the
pull is the real `wfm pull` command in another, so the peak RSS printed (`ru_maxrss` from
`wait4`) is the pull process's alone. The frames go to a fresh Parquet folder (`--out`), as the
command writes them. The last lines fit peak = a + b * agents by least squares and project it.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wfmcli.timegrid import local_midnight

DAY = date(2026, 3, 10)
ZONE = "Europe/Berlin"
LICENSED_SHARE = 0.9  # the twin licenses nine users in ten
WFM = [sys.executable, "-m", "wfmcli"]


def serve(users: int, queues: int, sets: int, ready: Any, stop: Any) -> None:
    from wfmcli.sim import start_twin

    now = local_midnight(DAY + timedelta(days=1), ZoneInfo(ZONE)).to_pydatetime()
    began = time.monotonic()
    twin = start_twin(
        seed=1,
        agents=users,
        queues=queues,
        days=2,
        live=False,
        now_ms=int((now + timedelta(hours=2)).astimezone(UTC).timestamp() * 1000),
        credentials=sets,
    )
    ready.put(
        {
            "base_url": twin.base_url,
            "credentials": [(c.client_id, c.client_secret) for c in twin.credentials],
            "role": twin.org.licensed_role.name,
            "build_s": time.monotonic() - began,
        }
    )
    stop.wait()
    twin.stop()


def write_config(path: Path, info: dict[str, Any], render: str | None) -> dict[str, str]:
    """The scope `bench` reading the twin; returns the environment holding the secrets."""
    env = dict(os.environ)
    lines = ["scopes:", "  bench:", "    source:", f"      base_url: {info['base_url']}"]
    lines += ["      credentials:"]
    for number, (client_id, secret) in enumerate(info["credentials"]):
        env[f"BENCH_SECRET_{number}"] = secret
        lines += [f"        - client_id: {client_id}"]
        lines += [f"          client_secret: ${{BENCH_SECRET_{number}}}"]
    lines += [f"      licensed_role: {info['role']}"]
    if render:
        lines += ["    destinations:", "      wfm:", f"        profile: {render}"]
        lines += [f"        timezone: {ZONE}", "        interval: 15", "        url: file:///tmp"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return env


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout) of one child process."""
    began = time.monotonic()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - began
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}: {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, out.decode()


def one_size(licensed: int, args: argparse.Namespace) -> dict[str, Any]:
    users = math.ceil(licensed / LICENSED_SHARE)
    context = mp.get_context("fork")
    ready, stop = context.Queue(), context.Event()
    twin = context.Process(
        target=serve, args=(users, args.queues, args.sets, ready, stop), daemon=True
    )
    twin.start()
    try:
        info = ready.get(timeout=3600)
        with tempfile.TemporaryDirectory(prefix="wfm-pull-bench-") as tmp:
            config = Path(tmp) / "wfm.yaml"
            env = write_config(config, info, args.render)
            env["XDG_CACHE_HOME"] = env["XDG_DATA_HOME"] = env["XDG_STATE_HOME"] = tmp
            out = Path(tmp) / "frames"
            pull = [*WFM, "--config", str(config), "pull", "bench", "--start", DAY.isoformat()]
            pull += ["--tz", ZONE, "--interval", "15", "--out", str(out), "--json"]
            wall, peak, stdout = measured(pull, env)
            row: dict[str, Any] = {
                "licensed": licensed,
                "users": users,
                "build_s": info["build_s"],
                "wall_s": wall,
                "peak_mib": peak,
                "parquet_mib": sum(p.stat().st_size for p in out.rglob("*.parquet")) / 2**20,
                "result": stdout,
            }
            if args.render:
                report = [*WFM, "--config", str(config), "report", "--frames", str(out)]
                report += ["--profile", args.render, "--tz", ZONE, "--interval", "15"]
                report += ["--start", DAY.isoformat(), "--out", str(Path(tmp) / "files")]
                row["render_s"], row["render_mib"], _ = measured(report, env)
            return row
    finally:
        stop.set()
        twin.join(60)


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (intercept, slope)."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx if sxx else 0.0
    return mean_y - slope * mean_x, slope


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", default="2500,5000,10000,20000", help="licensed agents")
    parser.add_argument("--queues", type=int, default=200)
    parser.add_argument("--sets", type=int, default=2, help="credential sets")
    parser.add_argument("--render", help="also time `wfm report` of the day with this profile")
    args = parser.parse_args()
    sizes = [int(part) for part in args.agents.split(",")]
    header = f"{'licensed':>9} {'users':>7} {'twin build':>10} {'pull':>8} {'peak RSS':>10}"
    header += f" {'Parquet':>8}" + (f" {'render':>8} {'render RSS':>10}" if args.render else "")
    print(f"one day, 15 min, {args.queues} queues, {args.sets} credential set(s), {ZONE}")
    print(header)
    rows = []
    for licensed in sizes:
        row = one_size(licensed, args)
        rows.append(row)
        line = f"{licensed:>9,} {row['users']:>7,} {row['build_s']:>9.1f}s {row['wall_s']:>7.1f}s"
        line += f" {row['peak_mib']:>6,.0f} MiB {row['parquet_mib']:>4.0f} MiB"
        if args.render:
            line += f" {row['render_s']:>7.1f}s {row['render_mib']:>6,.0f} MiB"
        print(line, flush=True)
    if len(rows) > 1:
        base, slope = fit([(r["licensed"], r["peak_mib"]) for r in rows])
        print(f"fit: peak RSS = {base:,.0f} MiB + {slope:.4f} MiB/agent")
        for agents in (20_000, 100_000):
            print(f"  projected at {agents:>7,}: {base + slope * agents:,.0f} MiB")
        growth = slope * 80_000 / (base + slope * 20_000)
        print(f"  growth 20,000 -> 100,000: {growth:+.1%}")


if __name__ == "__main__":
    main()
