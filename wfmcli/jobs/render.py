"""The Renderer a job uses: a vendor profile applied to the canonical frames.

Before each render the destination's queue mapping is completed for the queues the frames hold
(new ones by its policy, written to the mapping file so their keys and codes stay), and after it
every local day is accounted for: the contacts Genesys reported against those the files carry,
each difference named by cause (logged; a difference nothing explains is a warning).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wfmcli.jobs.plan import Report

if TYPE_CHECKING:
    import pandas as pd

    from wfmcli.reports.accounting import DayAccount
    from wfmcli.reports.mapping import QueueMap
    from wfmcli.reports.render import Destination, RenderedFile
    from wfmcli.reports.spec import Profile

log = logging.getLogger("wfm.jobs")


@dataclass
class ProfileRenderer:
    profile: Profile
    destination: Destination
    clock: Callable[[], datetime] | None = None
    queue_map_path: Path | None = None  # None: the mapping is made in memory, never stored
    target: str = ""
    accounts: list[DayAccount] = field(default_factory=list)
    _queue_map: QueueMap | None = field(default=None, init=False, repr=False)

    def reports(self) -> Sequence[Report]:
        specs = self.profile.reports
        return [Report(name, specs[name].per, specs[name].frame) for name in self._names()]

    def _names(self) -> list[str]:
        return list(self.destination.reports) or list(self.profile.reports)

    def mapped_destination(self, frames: Mapping[str, pd.DataFrame]) -> Destination:
        """The destination with its queue mapping, completed for every pair in the frames."""
        from wfmcli.mapfiles import complete, load_queue_map
        from wfmcli.reports.mapping import QueueMap, new_pairs_in_order, queue_frames_in_scope

        if self._queue_map is None:
            given = self.destination.queue_map
            policy = given.policy if given else self.profile.queue_key.policy
            self._queue_map = (
                load_queue_map(self.queue_map_path, self.profile, policy)
                if self.queue_map_path is not None
                else given or QueueMap([], self.profile.queue_key, policy)
            )
        in_scope = queue_frames_in_scope(frames, self.destination.media)
        complete(self.queue_map_path, self._queue_map, new_pairs_in_order(in_scope))
        return replace(self.destination, queue_map=self._queue_map)

    def render(
        self, frames: Mapping[str, pd.DataFrame], start: datetime, end: datetime, out_dir: Path
    ) -> list[RenderedFile]:
        from wfmcli.reports.accounting import account, delivered_by_day
        from wfmcli.reports.render import render_reports

        destination = self.mapped_destination(frames)
        written = render_reports(
            frames, self.profile, destination, start, end, out_dir, clock=self.clock
        )
        if any(self.profile.reports[name].frame == "queue_interval" for name in self._names()):
            delivered = delivered_by_day(written, self.profile, destination)
            for day in account(frames, self.profile, destination, start, end, delivered):
                self.accounts.append(day)
                level = logging.WARNING if day.unaccounted or day.not_carried else logging.INFO
                log.log(level, "%s", day.line(self.target or self.profile.name))
        return written
