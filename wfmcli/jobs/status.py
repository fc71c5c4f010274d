"""Where a destination stands: last run and delivery, how far behind, what is pending."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wfmcli.jobs.plan import plan_run
from wfmcli.jobs.state import RunRecord, StateStore

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
    pending_periods: int
    in_flight: int
    recent_failures: list[RunRecord] = field(default_factory=list)


def destination_status(
    config: Config, target: str, data_dir: Path, now: datetime
) -> DestinationStatus:
    from wfmcli.jobs.build import renderer_for, state_paths, timing_for

    scope_name, _, dest_name, settings = config.destination(target)
    state_file, _ = state_paths(data_dir, scope_name, dest_name)
    state = StateStore(state_file, target).load()
    plan = plan_run(
        renderer_for(settings).reports(), timing_for(settings), now, state.delivered_periods()
    )
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
        in_flight=len(state.in_flight),
        recent_failures=[r for r in state.runs if r.outcome in ("failed", "partial")][
            -RECENT_FAILURES:
        ],
    )


def all_targets(config: Config) -> list[str]:
    return [
        f"{scope_name}/{dest_name}"
        for scope_name, scope in sorted(config.scopes.items())
        for dest_name, dest in sorted(scope.destinations.items())
        if dest.delivery is not None
    ]
