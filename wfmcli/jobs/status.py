"""Where a destination stands: last run and delivery, how far behind, what is pending."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from wfmcli.jobs.plan import Report, Timing, closed_periods, plan_run
from wfmcli.jobs.state import DeliveryState, RunRecord, StateStore

if TYPE_CHECKING:
    from wfmcli.config import Config

RECENT_FAILURES = 5


@dataclass
class DestinationStatus:
    target: str
    profile: str
    last_run_at: str | None
    last_outcome: str | None
    last_delivered_end: str | None
    behind_seconds: float | None
    pending_periods: int  # files due now (a day's file is due once its day has closed)
    # closed intervals no delivered file covers yet, counted per report: a day-per-file
    # destination is behind by these even while its open day's file is not yet due
    pending_intervals: int
    in_flight: int
    recent_failures: list[RunRecord] = field(default_factory=list)


def destination_status(
    config: Config, target: str, data_dir: Path, now: datetime
) -> DestinationStatus:
    from wfmcli.jobs.build import renderer_for, state_paths, timing_for

    scope_name, _, dest_name, settings = config.destination(target)
    state_file, _ = state_paths(data_dir, scope_name, dest_name)
    state = StateStore(state_file, target).load()
    reports, timing = renderer_for(settings).reports(), timing_for(settings)
    plan = plan_run(reports, timing, now, state.delivered_periods())
    ends = [d.period_end for d in state.files.values()]
    last_end = max(ends, default=None)
    last = state.runs[-1] if state.runs else None
    return DestinationStatus(
        target=f"{scope_name}/{dest_name}",
        profile=settings.profile,
        last_run_at=last.finished_at if last else None,
        last_outcome=last.outcome if last else None,
        last_delivered_end=last_end,
        behind_seconds=(now - datetime.fromisoformat(last_end)).total_seconds()
        if last_end
        else None,
        pending_periods=len(plan.new),
        pending_intervals=pending_intervals(reports, timing, now, state),
        in_flight=len(state.in_flight),
        recent_failures=[r for r in state.runs if r.outcome in ("failed", "partial")][
            -RECENT_FAILURES:
        ],
    )


def pending_intervals(
    reports: Sequence[Report], timing: Timing, now: datetime, state: DeliveryState
) -> int:
    """Closed intervals, back to the backfill horizon, that no delivered file covers yet."""
    horizon = now - timing.max_backfill
    count = 0
    for report in reports:
        spans = sorted(
            (datetime.fromisoformat(d.period_start), datetime.fromisoformat(d.period_end))
            for d in state.files.values()
            if d.report == report.name
        )
        starts = [start for start, _ in spans]
        # from the first file period inside the backfill window: an older part-day is never sent
        ahead = closed_periods(report, timing, now + timedelta(days=2), horizon)
        since = min((p.start for p in ahead), default=now)
        per_interval = Report(report.name, "interval", "queue_interval")
        for period in closed_periods(per_interval, timing, now, since):
            at = bisect.bisect_right(starts, period.start) - 1  # a report's files do not overlap
            if at < 0 or spans[at][1] < period.end:
                count += 1
    return count


def all_targets(config: Config) -> list[str]:
    return [
        f"{scope_name}/{dest_name}"
        for scope_name, scope in sorted(config.scopes.items())
        for dest_name, dest in sorted(scope.destinations.items())
        if dest.delivery is not None
    ]
