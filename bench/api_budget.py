"""API requests a deployment costs, from the projection model (bench/api_budget_twin.py checks
the model against the twin).

Run: .venv/bin/python bench/api_budget.py [--agents 6000] [--queues 250] [--roster-refresh 300]
"""

from __future__ import annotations

import argparse
import math
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from wfmcli.jobs.plan import Report, Timing
from wfmcli.ops.projection import OrgSizes, RelayPlan, RunSchedule, project

REPORTS = (
    Report("queue", "interval", "queue_interval"),
    Report("agent", "interval", "agent_interval"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=6000)
    parser.add_argument("--queues", type=int, default=250)
    parser.add_argument("--roster-refresh", type=float, default=300.0, help="relay, seconds")
    args = parser.parse_args()
    sizes = OrgSizes(
        credential_sets=max(1, math.ceil(args.agents / 20_000)),
        agents=args.agents,
        queues=args.queues,
        queue_queries=4 * math.ceil(args.queues / 100),
        org_users=round(args.agents * 7 / 6),
        org_queues=round(args.queues * 1.2),
        divisions=5,
        role_holders=round(args.agents * 13 / 12),
    )
    print(f"{args.agents} agents, {args.queues} queues, NICE IEX every 15 min, 2 h re-send, RTA")
    print(f"{'agent_every':>12} {'per day':>9} {'per month':>10} {'per agent/month':>16} "
          f"{'runs':>6} {'relay':>6} {'logins':>6}")  # fmt: skip
    for label, block in (("15m", None), ("1h", timedelta(hours=1)), ("2h", timedelta(hours=2))):
        timing = Timing(
            ZoneInfo("America/New_York"), 15, timedelta(minutes=10), timedelta(hours=2),
            timedelta(days=7), block,
        )  # fmt: skip
        schedule = RunSchedule(
            "prod/nice", timing, REPORTS, timedelta(minutes=15), timedelta(minutes=10)
        )
        relay = RelayPlan("prod/rta", roster_refresh_s=args.roster_refresh)
        projection = project(sizes, [schedule], [relay], date(2026, 6, 10))
        per_agent = projection.per_month / args.agents
        feeds = [projection.feed(k) * 30 / args.agents for k in ("runs", "relay", "tokens")]
        print(
            f"{label:>12} {projection.per_day:>9,.0f} {projection.per_month:>10,.0f} "
            f"{per_agent:>16.1f} " + " ".join(f"{f:>6.1f}" for f in feeds)
        )


if __name__ == "__main__":
    main()
