"""The Renderer a job uses: a vendor profile applied to the canonical frames."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wfmcli.jobs.plan import Report

if TYPE_CHECKING:
    import pandas as pd

    from wfmcli.reports.render import Destination, RenderedFile
    from wfmcli.reports.spec import Profile


@dataclass
class ProfileRenderer:
    profile: Profile
    destination: Destination
    clock: Callable[[], datetime] | None = None

    def reports(self) -> Sequence[Report]:
        specs = self.profile.reports
        return [Report(name, specs[name].per, specs[name].frame) for name in self._names()]

    def _names(self) -> list[str]:
        return list(self.destination.reports) or list(self.profile.reports)

    def render(
        self, frames: Mapping[str, pd.DataFrame], start: datetime, end: datetime, out_dir: Path
    ) -> list[RenderedFile]:
        from wfmcli.reports.render import render_reports

        return render_reports(
            frames, self.profile, self.destination, start, end, out_dir, clock=self.clock
        )
