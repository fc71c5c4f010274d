"""Assemble a Job for SCOPE/DEST from the configuration: the pull, the profile, the transport."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from wfmcli.errors import ConfigError
from wfmcli.genesys.counter import RequestCounter
from wfmcli.jobs.plan import Timing
from wfmcli.jobs.render import ProfileRenderer
from wfmcli.jobs.run import Job
from wfmcli.jobs.state import StateStore

if TYPE_CHECKING:
    import pandas as pd

    from wfmcli.config import Config, Destination
    from wfmcli.pull import FrameCache, PullSource, PullSpec
    from wfmcli.pull.directory_cache import DirectoryCache


@dataclass
class PulledFrames:
    """The job's FrameSource: pulls from Genesys and keeps a copy in the frame cache."""

    scope: str
    source: PullSource
    settings: Destination
    cache: FrameCache | None = None
    directories: DirectoryCache | None = None
    counter: RequestCounter = field(default_factory=RequestCounter)
    totals: dict[str, float] = field(default_factory=dict, init=False)

    @property
    def requests(self) -> int:
        return self.counter.count()

    def frames(
        self, start: datetime, end: datetime, names: Collection[str], now: datetime
    ) -> Mapping[str, pd.DataFrame]:
        from wfmcli.pull import pull

        result = pull(
            self.source,
            self._spec(start, end, tuple(sorted(names))),
            cache=self.cache,
            directories=self.directories,
            now=now,
            keep_frames=True,
            counter=self.counter,
        )
        queue = result.data.get("queue_interval")
        if queue is not None:
            for column in ("offered", "answered", "abandoned"):
                self.totals[column] = self.totals.get(column, 0.0) + float(queue[column].sum())
        self.totals["agents"] = max(self.totals.get("agents", 0.0), float(result.agents))
        if result.directory is None:
            return result.data
        from wfmcli.jobs.fill import fill_entities
        from wfmcli.reports.render import FILL_ENTITIES

        return {**result.data, FILL_ENTITIES: fill_entities(result.directory)}

    @cached_property
    def agent_map(self) -> dict[str, str] | None:
        """The destination's mapping file, read once per job rather than once per pull."""
        from wfmcli.pull.directory import read_agent_map

        path = self.settings.agent_map_file
        return read_agent_map(path) if path else None

    def _spec(self, start: datetime, end: datetime, names: tuple[str, ...]) -> PullSpec:
        from wfmcli.pull import PullSpec

        settings = self.settings
        return PullSpec(
            scope=self.scope,
            start=start,
            end=end,
            zone=settings.zone,
            interval=settings.interval,
            frames=names,
            # every media: the renderer applies the destination's and accounts for the rest
            agent_id=settings.agent_id,
            agent_map=self.agent_map,
        )


def state_paths(data_dir: Path, scope: str, destination: str) -> tuple[Path, Path]:
    """The delivery state file and the lock file of one destination."""
    folder = data_dir / "state" / scope
    return folder / f"{destination}.json", folder / f"{destination}.lock"


def renderer_for(
    settings: Destination, queue_map_path: Path | None = None, target: str = ""
) -> ProfileRenderer:
    """The destination's renderer; with `queue_map_path` its queue mapping lives in that file."""
    from wfmcli.reports.mapping import QueueMap
    from wfmcli.reports.profiles import load_profile
    from wfmcli.reports.render import Destination as RenderSettings

    profile = load_profile(settings.profile)
    policy = settings.unmapped_queues or profile.queue_key.policy
    return ProfileRenderer(
        profile,
        RenderSettings(
            timezone=settings.timezone,
            interval_minutes=settings.interval,
            reports=tuple(settings.reports),
            queue_map=QueueMap([], profile.queue_key, policy),
            media=tuple(str(m.value) for m in settings.media),
        ),
        queue_map_path=queue_map_path,
        target=target,
    )


def timing_for(settings: Destination) -> Timing:
    return Timing(
        zone=settings.zone,
        minutes=settings.interval,
        lag=settings.lag,
        resend=settings.resend,
        max_backfill=settings.max_backfill,
        agent_every=settings.agent_every,
    )


def build_job(config: Config, target: str, data_dir: Path, cache_root: Path | None = None) -> Job:
    from wfmcli.paths import cache_dir
    from wfmcli.pull import FrameCache, PullSource
    from wfmcli.pull.directory_cache import DirectoryCache
    from wfmcli.pull.identity import claim_state
    from wfmcli.transports.registry import open_transport

    config.require_live()
    scope_name, scope, dest_name, settings = config.destination(target)
    delivery = settings.delivery
    if delivery is None:
        raise ConfigError(
            f"destination {scope_name}/{dest_name} has no delivery",
            hint="add delivery: {url: ...} to it in the configuration",
        )
    state_file, lock_file = state_paths(data_dir, scope_name, dest_name)
    from wfmcli.mapfiles import queue_map_path

    mapping_file = queue_map_path(data_dir, scope_name, dest_name, settings)
    renderer = renderer_for(settings, mapping_file, f"{scope_name}/{dest_name}")
    pull_source = PullSource.from_config(scope.source)
    return Job(
        target=f"{scope_name}/{dest_name}",
        timing=timing_for(settings),
        source=PulledFrames(
            scope_name,
            pull_source,
            settings,
            FrameCache(cache_root / "frames" if cache_root else None),
            DirectoryCache((cache_root or cache_dir()) / "directory"),
        ),
        renderer=renderer,
        open_transport=lambda: open_transport(delivery.url, delivery.transport_options()),
        store=StateStore(state_file, f"{scope_name}/{dest_name}"),
        lock_path=lock_file,
        # a state another org wrote under this scope name is refused before planning
        check_owner=lambda: claim_state(state_file.parent, scope_name, pull_source),
    )
