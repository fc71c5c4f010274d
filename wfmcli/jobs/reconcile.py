"""`wfm reconcile`: each local day's contacts from the frames against the delivered files.

The frames are the pull's cache. The files are rendered again from them with the destination's
mapping and matched to the delivery record by content hash, so the count is that of the bytes the
WFM received; a file never delivered, or delivered with other content since, is named and left
unaccounted until `wfm run` (or `wfm backfill`) sends it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wfmcli.jobs.state import period_key

if TYPE_CHECKING:
    import pandas as pd

    from wfmcli.jobs.render import ProfileRenderer
    from wfmcli.jobs.state import DeliveryState
    from wfmcli.reports.accounting import DayAccount


@dataclass
class Reconciliation:
    target: str
    days: list[DayAccount]
    undelivered: dict[date, int] = field(default_factory=dict)  # contacts in files not delivered
    problems: list[str] = field(default_factory=list)  # the files behind `undelivered`

    @property
    def unaccounted(self) -> int:
        return sum(abs(day.unaccounted) for day in self.days)


def reconcile(
    target: str,
    renderer: ProfileRenderer,
    state: DeliveryState,
    frames: Mapping[str, pd.DataFrame],
    start: datetime,
    end: datetime,
) -> Reconciliation:
    from wfmcli.reports.accounting import account, contact_reports
    from wfmcli.reports.reader import read_values

    profile = renderer.profile
    destination = renderer.mapped_destination(frames)
    counted = set(contact_reports(profile, destination))
    delivered: dict[date, float] = {}
    result = Reconciliation(target, [])
    with tempfile.TemporaryDirectory(prefix="wfm-reconcile-") as folder:
        from wfmcli.reports.render import render_reports

        written = render_reports(frames, profile, destination, start, end, Path(folder))
        for file in (f for f in written if f.report in counted and not f.alias):
            report = profile.reports[file.report]
            column = report.contacts or ""
            contacts = sum(
                float(row[column] or 0) for row in read_values(report, file.path.read_bytes())
            )
            day = file.start.date()
            known = state.files.get(period_key(file.report, file.start.astimezone(UTC).isoformat()))
            if known is not None and known.sha256 == file.sha256:
                delivered[day] = delivered.get(day, 0.0) + contacts
            elif contacts:
                why = (
                    "never delivered"
                    if known is None
                    else f"delivered as {known.name} with other content"
                )
                result.undelivered[day] = result.undelivered.get(day, 0) + round(contacts)
                result.problems.append(
                    f"{file.report} {file.start:%Y-%m-%d %H:%M}: {round(contacts)} contacts, {why}"
                )
    result.days = account(frames, profile, destination, start, end, delivered)
    return result
