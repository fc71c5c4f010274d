"""The Genesys twin at scale: build time and memory, an analytics sweep, live stream throughput.

Run: .venv/bin/python bench/sim_bench.py [--agents 20000] [--queues 200] [--seconds 15]

1. Build an org of --agents / --queues with one full day of history (time, peak RSS).
2. Serve it (clock frozen) and sweep it as a pull would: all users by pages of 500, user
   aggregates for every user in batches of 100 userId predicates (PT30M, one day), conversation
   aggregates by queue (PT30M).
3. Run `wfm sim serve` in its own process at --speed with the clock set to mid-morning, subscribe
   every user's activity topic over 20 channels of 1,000 topics, and count state changes received
   per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from websockets.asyncio.client import connect

from wfmcli.sim import start_twin
from wfmcli.sim.twin import RunningTwin

DAY = timedelta(days=1)


def _midnight() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _token(client: httpx.Client, client_id: str, secret: str) -> str:
    response = client.post(
        "/oauth/token", auth=(client_id, secret), data={"grant_type": "client_credentials"}
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def build(agents: int, queues: int) -> tuple[RunningTwin, float, float, float]:
    rss_before = _rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    twin = start_twin(
        seed=1,
        agents=agents,
        queues=queues,
        days=1,
        live=False,
        now_ms=int(_midnight().timestamp() * 1000),
    )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return twin, wall, cpu, _rss_mb() - rss_before


def sweep(twin: RunningTwin) -> dict[str, Any]:
    twin.faults.rate_limit_per_minute = 10**9
    yesterday = _midnight() - DAY
    interval = f"{yesterday.isoformat()}/{_midnight().isoformat()}".replace("+00:00", "Z")
    figures: dict[str, Any] = {}
    with httpx.Client(base_url=twin.base_url, timeout=300) as client:
        token = _token(client, twin.client_id, twin.client_secret)
        client.headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        users: list[str] = []
        page = 1
        while True:
            body = client.get("/api/v2/users", params={"pageSize": 500, "pageNumber": page}).json()
            users.extend(u["id"] for u in body["entities"])
            if "nextUri" not in body:
                break
            page += 1
        figures["users listed"] = len(users)
        figures["user paging s"] = time.perf_counter() - started

        started = time.perf_counter()
        rows = 0
        for i in range(0, len(users), 100):
            predicates = [{"dimension": "userId", "value": u} for u in users[i : i + 100]]
            response = client.post(
                "/api/v2/analytics/users/aggregates/query",
                json={
                    "interval": interval,
                    "granularity": "PT30M",
                    "groupBy": ["userId"],
                    "metrics": ["tAgentRoutingStatus", "tSystemPresence", "tOrganizationPresence"],
                    "filter": {"type": "or", "predicates": predicates},
                },
            )
            response.raise_for_status()
            rows += sum(len(d["metrics"]) for r in response.json()["results"] for d in r["data"])
        elapsed = time.perf_counter() - started
        figures["user aggregate queries"] = (len(users) + 99) // 100
        figures["user aggregate sweep s"] = elapsed
        figures["user aggregate metric rows"] = rows

        started = time.perf_counter()
        response = client.post(
            "/api/v2/analytics/conversations/aggregates/query",
            json={
                "interval": interval,
                "granularity": "PT30M",
                "groupBy": ["queueId"],
                "metrics": [
                    "nOffered",
                    "tAnswered",
                    "tAbandon",
                    "tFlowOut",
                    "oServiceLevel",
                    "tTalk",
                    "tHeld",
                    "tAcw",
                    "tHandle",
                    "nTransferred",
                ],
            },
        )
        response.raise_for_status()
        figures["conversation aggregates (all queues, PT30M) s"] = time.perf_counter() - started
        figures["conversation aggregate groups"] = len(response.json()["results"])
    return figures


async def _listen(uri: str, until: float, counts: list[int]) -> None:
    async with connect(uri, max_size=1 << 22) as ws:
        while (left := until - time.monotonic()) > 0:
            try:
                message = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                return
            if '"v2.users.' in message:
                counts[0] += 1


def live(agents: int, queues: int, speed: float, seconds: float) -> dict[str, Any]:
    at = (_midnight() + timedelta(hours=10)).isoformat()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wfmcli",
            "sim",
            "serve",
            "--json",
            "--agents",
            str(agents),
            "--queues",
            str(queues),
            "--days",
            "0",
            "--speed",
            str(speed),
            "--at",
            at,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        with httpx.Client(base_url=info["base_url"], timeout=60) as client:
            client.headers["Authorization"] = (
                f"Bearer {_token(client, info['client_id'], info['client_secret'])}"
            )
            client.get("/api/v2/users", params={"pageSize": 1})
            user_ids: list[str] = []
            page = 1
            while True:
                body = client.get(
                    "/api/v2/users", params={"pageSize": 500, "pageNumber": page}
                ).json()
                user_ids.extend(u["id"] for u in body["entities"])
                if "nextUri" not in body:
                    break
                page += 1
            uris = []
            for i in range(0, len(user_ids), 1000):
                channel = client.post("/api/v2/notifications/channels").json()
                topics = [{"id": f"v2.users.{u}.activity"} for u in user_ids[i : i + 1000]]
                client.put(
                    f"/api/v2/notifications/channels/{channel['id']}/subscriptions", json=topics
                ).raise_for_status()
                uris.append(channel["connectUri"])
        counts = [0]
        until = time.monotonic() + seconds

        async def run() -> None:
            await asyncio.gather(*(_listen(uri, until, counts) for uri in uris))

        asyncio.run(run())
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "speed": speed,
        "channels": len(uris),
        "topics": len(user_ids),
        "seconds": seconds,
        "state changes received": counts[0],
        "state changes per second": counts[0] / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--queues", type=int, default=200)
    parser.add_argument("--speed", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--live-only", action="store_true", help="Only the live stream part.")
    args = parser.parse_args()
    if args.live_only:
        _print_live(args)
        return

    twin, build_s, build_cpu, rss_mb = build(args.agents, args.queues)
    center = twin.runtime.center
    print(f"{'build (org + 1 day of history), wall':48} {build_s:8.1f} s")
    print(f"{'  CPU time of the build':48} {build_cpu:8.1f} s")
    print(f"{'  peak RSS added':48} {rss_mb:8.0f} MB")
    print(f"{'  queue legs / agent state rows':48} {len(center.legs):>8} / {len(center.states)}")
    try:
        for name, value in sweep(twin).items():
            shown = f"{value:8.2f}" if isinstance(value, float) else f"{value:>8}"
            print(f"{name:48} {shown}")
    finally:
        twin.stop()
    _print_live(args)


def _print_live(args: argparse.Namespace) -> None:
    for name, value in live(args.agents, args.queues, args.speed, args.seconds).items():
        shown = f"{value:8.1f}" if isinstance(value, float) else f"{value:>8}"
        print(f"{'live: ' + name:48} {shown}", flush=True)


if __name__ == "__main__":
    main()
