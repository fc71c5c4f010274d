"""Every contact accounted for: what Genesys reported against what a destination's files carry.

Per local day, the contacts (offered) in the queue frame are split by where they went:

    reported = delivered + out of scope + excluded + not carried + unaccounted

- out of scope: a media or direction the destination's `media` setting leaves out;
- excluded: a queue x media pair the queue mapping (or its policy) excludes;
- not carried: in scope and mapped, but no queue report of the profile takes its media or
  direction (named per media and direction);
- delivered: the sum of each queue report's `contacts` column over its files.

Anything else is unaccounted: a file that was not written, or a report that counts a contact
twice. Pure: frames and rendered files in, numbers out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from wfmcli.reports.expr import Expression
from wfmcli.reports.mapping import scope_mask

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from wfmcli.reports.render import Destination, RenderedFile
    from wfmcli.reports.spec import Profile


@dataclass
class DayAccount:
    day: date
    reported: int = 0
    delivered: int = 0
    out_of_scope: int = 0
    excluded: int = 0
    not_carried: dict[str, int] = field(default_factory=dict)  # "message inbound" -> contacts

    @property
    def unaccounted(self) -> int:
        explained = self.out_of_scope + self.excluded + sum(self.not_carried.values())
        return self.reported - self.delivered - explained

    def line(self, target: str) -> str:
        """One log line: the day's balance, each cause named."""
        parts = [f"{self.delivered} in files"]
        if self.out_of_scope:
            parts.append(f"{self.out_of_scope} out of scope (destination media)")
        if self.excluded:
            parts.append(f"{self.excluded} excluded by the queue mapping")
        parts += [
            f"{count} {what} not carried by the profile"
            for what, count in sorted(self.not_carried.items())
        ]
        return (
            f"{target}: {self.day.isoformat()}: {self.reported} contacts from Genesys = "
            + " + ".join(parts)
            + f"; {self.unaccounted} unaccounted"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "reported": self.reported,
            "delivered": self.delivered,
            "out_of_scope": self.out_of_scope,
            "excluded": self.excluded,
            "not_carried": dict(sorted(self.not_carried.items())),
            "unaccounted": self.unaccounted,
        }


def contact_reports(profile: Profile, destination: Destination) -> list[str]:
    """The destination's reports that count contacts: queue reports with a `contacts` column."""
    names = list(destination.reports) or list(profile.reports)
    return [
        name
        for name in names
        if profile.reports[name].frame == "queue_interval"
        and profile.reports[name].contacts is not None
    ]


def account(
    frames_by_name: Mapping[str, pd.DataFrame],
    profile: Profile,
    destination: Destination,
    start: datetime,
    end: datetime,
    delivered: Mapping[date, float],
) -> list[DayAccount]:
    """The accounts of each local day in [start, end); `delivered` is contacts in files per day."""
    import pandas as pd

    from wfmcli.reports.render import full_map

    days: dict[date, DayAccount] = {}
    rows = frames_by_name.get("queue_interval")
    if rows is not None and not rows.empty:
        rows = rows[
            (rows["interval_start"] >= pd.Timestamp(start)) & (rows["interval_start"] < end)
        ]
        local = pd.DatetimeIndex(rows["interval_start"]).tz_convert(destination.zone)
        rows = rows.assign(_day=local.date)
        for day, offered in rows.groupby("_day")["offered"].sum().items():
            days.setdefault(day, DayAccount(day)).reported = int(offered)
        scoped = scope_mask(rows, destination.media).to_numpy()
        _add(days, rows[~scoped], "out_of_scope")
        rows = rows[scoped]
        mapping = full_map({"queue_interval": rows}, profile, destination)
        excluded = mapping.excluded(rows).to_numpy()
        _add(days, rows[excluded], "excluded")
        rows = mapping.apply(rows[~excluded])
        carried = _carried(rows, profile, destination)
        for (day, media, direction), count in (
            rows[~carried].groupby(["_day", "media", "direction"])["offered"].sum().items()
        ):
            if count:
                account_ = days.setdefault(day, DayAccount(day))
                account_.not_carried[f"{media} {direction}"] = int(count)
    for day, count in delivered.items():
        days.setdefault(day, DayAccount(day)).delivered = round(count)
    return [days[day] for day in sorted(days)]


def delivered_by_day(
    files: Iterable[RenderedFile], profile: Profile, destination: Destination
) -> dict[date, float]:
    """Contacts the files carry per local day, from each file's totals."""
    counted = set(contact_reports(profile, destination))
    totals: dict[date, float] = {}
    for file in files:
        column = profile.reports[file.report].contacts
        if file.report in counted and column is not None:
            day = file.start.date()
            totals[day] = totals.get(day, 0.0) + file.totals.get(column, 0.0)
    return totals


def _add(days: dict[date, DayAccount], rows: pd.DataFrame, cause: str) -> None:
    for day, count in rows.groupby("_day")["offered"].sum().items():
        account_ = days.setdefault(day, DayAccount(day))
        setattr(account_, cause, getattr(account_, cause) + int(count))


def _carried(rows: pd.DataFrame, profile: Profile, destination: Destination) -> np.ndarray:
    import numpy as np
    import pandas as pd

    carried = np.zeros(len(rows), dtype=bool)
    constants = {**profile.constants, **destination.constants}
    env = {**{str(c): rows[c] for c in rows.columns}, **constants}
    for name in contact_reports(profile, destination):
        text = profile.reports[name].filter
        if text is None:
            return np.ones(len(rows), dtype=bool)
        value = Expression(text).evaluate(env)
        mask = value if isinstance(value, pd.Series) else pd.Series(bool(value), index=rows.index)
        carried |= mask.astype(bool).to_numpy()
    return carried
