"""Both feeds' Genesys API requests, measured at the twin, next to the projection (`wfm api-usage`).

    .venv/bin/python bench/api_budget_twin.py [--agents 2000] [--queues 40] [--runs 96]
                                              [--modes 1h,15m] [--relay-seconds 288]

The org: a twin of 2,000 users (1,800 licensed), 40 queues, clock frozen after the day. The
destination: NICE IEX, 15-minute files in America/New_York, delivered to a file:// folder, run
every 15 minutes from 00:10 (`wfm schedule`'s times). For each mode (hourly agent data:
`agent_every: 1h`; 15-minute agent data: `agent_every: 15m`) it runs `wfm run prod/nice --now T`
(the real command, in process) for every run time of one local day and counts, at the twin, every
request served by endpoint, tokens included.

Steady state: one warm-up run before the day delivers the backlog; then the stored token and the
cached directory are deleted, so the day itself holds what a day in the middle of a month holds:
one login per credential set (tokens live 24 h) and one full directory read (plus its probes).

The relay: `wfm rta serve prod` lives through a day compressed into `--relay-seconds` (288 or
more: a roster check a second): the roster is checked 288 times (every 5 minutes in a real day),
the role's holders read every 12th check (every hour) and everything once (once a day), as the
configuration's defaults would; then one `socket_closing` on every channel, and one channel
renewal per channel (counted as the start-up's subscription requests). The twin counts every
request; the roster part is scaled by 288 / the checks the relay made (its /status counts them),
so a slow check does not shorten the day.

The twin's rate limit (300 requests a minute per token) is lifted for the bench: a day of runs
squeezed into minutes would hit it, the same runs over a day never do.

Per licensed agent a month = requests a day x 30 / licensed agents in scope.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from typer.testing import CliRunner  # noqa: E402

from wfmcli.cli.main import app  # noqa: E402
from wfmcli.jobs.build import renderer_for, timing_for  # noqa: E402
from wfmcli.ops.projection import DAYS_PER_MONTH, RunSchedule, run_times  # noqa: E402
from wfmcli.sim import RunningTwin, start_twin  # noqa: E402

ZONE = "America/New_York"
DAY = date(2026, 6, 10)
OAUTH = "POST /oauth/token"
SUBSCRIPTIONS = "PUT /api/v2/notifications/channels/{id}/subscriptions"


def write_config(folder: Path, twin: RunningTwin, agent_every: str, listen: str) -> Path:
    creds = "\n".join(
        f"        - client_id: {c.client_id}\n          client_secret: {c.client_secret}"
        for c in twin.credentials
    )
    path = folder / "config.yaml"
    path.write_text(
        f"""scopes:
  prod:
    source:
      base_url: {twin.base_url}
      credentials:
{creds}
      licensed_role: {twin.org.licensed_role.name}
    destinations:
      nice:
        profile: nice-iex
        agent_id: employee_id  # usernames do not fit IEX's 16-character agentId
        timezone: {ZONE}
        interval: 15
        schedule: 15m
        agent_every: {agent_every}
        max_backfill: 1d
        delivery:
          url: {(folder / "outbox").as_uri()}
        rta:
          listen: {listen}
""",
        encoding="utf-8",
    )
    return path


class Wfm:
    """`wfm ...` in this process, with the bench's own config and data folders."""

    def __init__(self, folder: Path, config: Path) -> None:
        self.env = {
            "WFM_CONFIG": str(config),
            "WFM_DATA_DIR": str(folder / "data"),
            "WFM_CACHE_DIR": str(folder / "cache"),
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        result = self.runner.invoke(app, list(args), env=self.env)
        if result.exit_code not in ok:
            raise SystemExit(f"wfm {' '.join(args)} exited {result.exit_code}: {result.output}")
        return result.stdout


def served(twin: RunningTwin) -> Counter[str]:
    """The twin's per-endpoint request counter, endpoints named as wfm's own tally names them
    (`GET /api/v2/users/{id}`)."""
    return Counter(
        {
            f"{method} {re.sub(r'{[^}]*}', '{id}', template)}": count
            for (method, template), count in twin.server.by_endpoint.items()
        }
    )


def measure_runs(
    twin: RunningTwin, wfm: Wfm, folder: Path, schedule: RunSchedule, limit: int
) -> Counter[str]:
    times = run_times(schedule, DAY)
    wfm("run", "prod/nice", "--now", (times[0] - schedule.every).isoformat(), ok=(0, 8))
    # steady state: the day logs in once per set and reads the directory in full once
    shutil.rmtree(folder / "data" / "state" / "oauth-tokens", ignore_errors=True)
    shutil.rmtree(folder / "cache" / "directory", ignore_errors=True)
    before = served(twin)
    for moment in times[:limit] if limit else times:
        wfm("run", "prod/nice", "--now", moment.isoformat(), ok=(0, 8))
    return served(twin) - before


PERIODS_PER_DAY = 288  # roster checks a day at the default rta.roster_refresh of 5 minutes
ROSTER_CHECKS = ("GET /api/v2/authorization/roles", "GET /api/v2/authorization/roles/{id}/users")


def measure_relay(
    twin: RunningTwin, config: Path, folder: Path, seconds: float
) -> dict[str, float]:
    """Per-day relay requests, from a day compressed into `seconds` (at least 288): the
    roster is checked PERIODS_PER_DAY times, its holders read every 12th period, everything once;
    then one socket_closing on every channel; plus one renewal per channel (the same PUT as
    at the start)."""
    refresh = max(1, int(seconds) // PERIODS_PER_DAY)  # `rta serve` takes whole seconds
    day_s, holders_s = refresh * PERIODS_PER_DAY, refresh * 12
    text = config.read_text(encoding="utf-8")
    compressed = config.with_name("relay.yaml")
    compressed.write_text(text.replace("        rta:\n", f"        rta:\n"
                                       f"          roster_holders_check: {holders_s}s\n"
                                       f"          roster_full_read: {day_s}s\n"), "utf-8")
    port = _free_port()
    env = {**os.environ, "WFM_CONFIG": str(compressed), "WFM_DATA_DIR": str(folder / "data"),
           "WFM_CACHE_DIR": str(folder / "cache")}  # fmt: skip
    wfm = [sys.executable, "-m", "wfmcli", "rta", "serve", "prod/nice",
           "--roster-refresh", str(refresh), "--metrics-port", str(port)]  # fmt: skip
    process = subprocess.Popen(wfm, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        stats = _wait_ready(process, port)
        started, checks = served(twin), _roster_checks(stats)
        time.sleep(day_s * 1.03)  # the day's full read falls at its end
        day_end, periods = served(twin), _roster_checks(_status(port)) - checks
        resyncs = _status(port)["resyncs"]
        twin.socket_closing(0.5)
        deadline = time.monotonic() + 30
        while _status(port)["resyncs"] == resyncs and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        closing = served(twin) - day_end
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=15)
    if not periods:
        tail = errors.decode(errors="replace")[-2000:]
        raise SystemExit(f"the relay made no roster checks: {tail}")
    roster = day_end - started
    per_day = {k: v * PERIODS_PER_DAY / periods for k, v in roster.items()}
    for endpoint, count in closing.items():
        if endpoint not in ROSTER_CHECKS:  # the checks go on meanwhile: counted in the day
            per_day[endpoint] = per_day.get(endpoint, 0) + count  # one socket_closing a day
    renewals = started[SUBSCRIPTIONS]  # at the start: one PUT per channel, as a renewal makes
    per_day[SUBSCRIPTIONS] = per_day.get(SUBSCRIPTIONS, 0) + renewals
    per_day.pop(OAUTH, None)  # logins are the scope's (counted with the runs)
    return per_day


def _status(port: int) -> dict[str, float]:
    """The relay's source counters from its /status."""
    body = httpx.get(f"http://127.0.0.1:{port}/status", timeout=5.0).json()
    sources = body["sources"]
    return {key: sum(float(s.get(key, 0)) for s in sources)
            for key in ("roster_probes", "roster_holder_reads", "roster_refreshes", "resyncs")}


def _roster_checks(stats: dict[str, float]) -> float:
    return stats["roster_probes"] + stats["roster_holder_reads"] + stats["roster_refreshes"]


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> dict[str, float]:
    """Waits until the relay has read every agent's state once (its start-up is done)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            stats = _status(port)
        except (httpx.HTTPError, KeyError):
            stats = {}
        if stats.get("resyncs", 0) >= 1:
            time.sleep(1.0)  # channels still connecting resync once more
            return _status(port)
        time.sleep(0.2)
    _, errors = process.communicate(timeout=15)
    raise SystemExit(f"the relay did not start: {errors.decode(errors='replace')[-2000:]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--queues", type=int, default=40)
    parser.add_argument("--modes", default="1h,15m")
    parser.add_argument("--runs", type=int, default=0, help="only the first N runs (a smoke test)")
    parser.add_argument("--relay-seconds", type=float, default=0.0)
    args = parser.parse_args()
    zone = ZoneInfo(ZONE)
    frozen = datetime(DAY.year, DAY.month, DAY.day, tzinfo=zone) + timedelta(days=1, hours=1)
    twin = start_twin(seed=1, agents=args.agents, queues=args.queues, days=2, live=False,
                      now_ms=int(frozen.astimezone(UTC).timestamp() * 1000))  # fmt: skip
    # A day of runs squeezed into minutes would meet Genesys' 300 requests a minute per token,
    # which the same runs spread over a day never do (at most about 25 requests a run, every
    # 15 minutes); refused-and-retried requests would then inflate the count.
    twin.faults.rate_limit_per_minute = 1_000_000
    licensed = sum(1 for u in twin.org.users if u.licensed)
    print(f"twin: {len(twin.org.users)} users, {licensed} licensed, {len(twin.org.queues)} queues; "
          f"NICE IEX every 15 min, {ZONE}, {DAY}")  # fmt: skip
    try:
        for mode in args.modes.split(","):
            run_mode(twin, mode, licensed, args.relay_seconds, args.runs)
    finally:
        twin.stop()


def run_mode(twin: RunningTwin, mode: str, licensed: int, relay_seconds: float, limit: int) -> None:
    with tempfile.TemporaryDirectory(prefix="wfm-budget-") as name:
        folder = Path(name)
        config = write_config(folder, twin, mode, f"127.0.0.1:{_free_port()}")
        wfm = Wfm(folder, config)
        wfm("doctor", "prod", ok=(0, 1, 2, 3, 4, 5, 6, 10))  # measures and stores the org's sizes
        from wfmcli.config import load_config

        dest = load_config(config).scope("prod").destinations["nice"]
        schedule = RunSchedule("prod/nice", timing_for(dest), tuple(renderer_for(dest).reports()),
                               dest.schedule, dest.lag)  # fmt: skip
        began = time.monotonic()
        runs = measure_runs(twin, wfm, folder, schedule, limit)
        seconds = time.monotonic() - began
        relay = measure_relay(twin, config, folder, relay_seconds) if relay_seconds else {}
        usage = json.loads(wfm("api-usage", "prod", "--json"))
        projection = usage["data"]["scopes"][0]["projection"]
    report(mode, licensed, runs, relay, projection, seconds)


def report(mode: str, licensed: int, runs: Counter[str], relay: dict[str, float],
           projection: dict, seconds: float) -> None:  # type: ignore[type-arg]  # fmt: skip
    month = DAYS_PER_MONTH / licensed
    lines = projection["lines"]
    projected: dict[str, dict[str, float]] = {"runs": {}, "relay": {}, "tokens": {}}
    for line in lines:
        for endpoint, count in line["endpoints"].items():
            bucket = projected[line["feed"]]
            bucket[endpoint] = bucket.get(endpoint, 0) + count
    measured_tokens = runs.pop(OAUTH, 0)
    print(f"\n== agent data every {mode}: {sum(runs.values()) + measured_tokens} requests in the "
          f"day's runs ({seconds:.0f} s) ==")  # fmt: skip
    print(f"{'feed / endpoint':58} {'twin/day':>9} {'model/day':>9} {'twin/ag-mo':>10} "
          f"{'model/ag-mo':>11}")  # fmt: skip
    logins = {OAUTH: measured_tokens}
    rows: list[tuple[str, Mapping[str, float], dict[str, float]]] = [
        ("historical runs", dict(runs), projected["runs"]),
        ("OAuth logins (both feeds)", logins, projected["tokens"]),
    ]
    if relay:
        rows.append(("RTA relay (scaled to a day)", relay, projected["relay"]))
    else:
        rows.append(
            ("RTA relay (not measured: the model's figure in both)", {}, projected["relay"])
        )
    total_twin = total_model = 0.0
    for title, twin_side, model_side in rows:
        twin_sum, model_sum = sum(twin_side.values()), sum(model_side.values())
        total_twin += twin_sum if twin_side or title.startswith("historical") else model_sum
        total_model += model_sum
        print(f"{title:58} {twin_sum:9.0f} {model_sum:9.0f} {twin_sum * month:10.2f} "
              f"{model_sum * month:11.2f}")  # fmt: skip
        for endpoint in sorted(set(twin_side) | set(model_side)):
            got, want = twin_side.get(endpoint, 0), model_side.get(endpoint, 0)
            print(
                f"  {endpoint:56} {got:9.0f} {want:9.0f} {got * month:10.2f} {want * month:11.2f}"
            )
    agree = abs(total_model - total_twin) / max(total_twin, 1) * 100
    print(f"{'both feeds':58} {total_twin:9.0f} {total_model:9.0f} {total_twin * month:10.2f} "
          f"{total_model * month:11.2f}   model vs twin {agree:+.1f} %")  # fmt: skip
    print(f"wfm api-usage: {projection['per_agent_month']} per licensed agent a month "
          f"{projection['by_feed_per_agent_month']}")  # fmt: skip


if __name__ == "__main__":
    main()
