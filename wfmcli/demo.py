"""`wfm demo`: the whole historical feed, offline, against the embedded Genesys twin.

It starts the twin in-process, writes a configuration with one destination per built-in vendor
profile (each delivering to a local folder), runs a job for one complete local day per
destination, and reports what was delivered. Same seed and date, same files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from wfmcli.errors import UsageError

# (destination, profile, zone, interval): one per built-in profile, in zones that show the range
DESTINATIONS = (
    ("calabrio", "calabrio", "Europe/Stockholm", 15),
    ("nice-iex", "nice-iex", "America/New_York", 15),
    ("nice-cxone", "nice-cxone", "America/Chicago", 30),
    ("verint", "verint", "Europe/London", 15),
    ("alvaria", "alvaria", "Asia/Kolkata", 30),
    ("alvaria-via", "alvaria-via", "Australia/Sydney", 15),
)


@dataclass
class DemoDestination:
    name: str
    profile: str
    timezone: str
    interval: int
    day: str
    files: int
    bytes: int
    periods: int  # intervals, or days for daily files
    offered: int  # contacts in the delivered files (what the WFM will load)
    reported: int  # contacts Genesys reported for the day
    unaccounted: int  # reported - in files - each named cause: 0 when nothing is lost
    reconcile: str  # the day's balance, as `wfm reconcile` prints it
    answered: int
    abandoned: int
    agents: int
    folder: Path


@dataclass
class DemoResult:
    out: Path
    config: Path
    seed: int
    agents: int
    queues: int
    day: date
    seconds: float
    api_requests: int
    destinations: list[DemoDestination] = field(default_factory=list)


def default_day() -> date:
    return (datetime.now(UTC) - timedelta(days=1)).date()


def write_config(out: Path, base_url: str, client_id: str, secret: str, role: str) -> Path:
    secret_file = out / "twin.secret"
    secret_file.unlink(missing_ok=True)
    descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    lines = [
        "# Written by 'wfm demo': the embedded Genesys twin and one destination per profile.",
        "version: 1",
        f"data_dir: {out / 'data'}",
        "scopes:",
        "  demo:",
        "    source:",
        f"      base_url: {base_url}",
        "      credentials:",
        f"        - client_id: {client_id}",
        "          client_secret_file: twin.secret",
        f"      licensed_role: {role}",
        "    destinations:",
    ]
    for name, profile, zone, interval in DESTINATIONS:
        lines += [
            f"      {name}:",
            f"        profile: {profile}",
            f"        timezone: {zone}",
            f"        interval: {interval}",
            "        delivery:",
            f"          url: {(out / 'outbox' / name).as_uri()}",
        ]
    config = out / "config.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


RECORD_NOTE = (
    "the demo's twin stopped when 'wfm demo' ended; run 'wfm demo' again for a fresh one"
)


def mark_record(config: Path) -> None:
    """After the twin is gone, the file says so: a run on it fails at once with that line."""
    text = config.read_text(encoding="utf-8")
    header = (
        "# A RECORD ONLY: the twin this file points at ran inside 'wfm demo' and is gone.\n"
        f"record_only: {RECORD_NOTE!r}\n"
    )
    config.write_text(header + text, encoding="utf-8")


def run_demo(
    out: Path, *, seed: int, agents: int, queues: int, day: date, mixed_media: bool = False
) -> DemoResult:
    import time as clock

    from wfmcli.config import load_config
    from wfmcli.jobs.build import PulledFrames, build_job
    from wfmcli.jobs.render import ProfileRenderer
    from wfmcli.sim import start_twin

    began = clock.monotonic()
    if out.exists() and any(out.iterdir()) and not (out / "config.yaml").exists():
        raise UsageError(f"{out} is not empty and is not a demo folder", hint="choose --out")
    out.mkdir(parents=True, exist_ok=True)
    # every destination's day has closed (Chicago is the last) before the twin's "now"
    now = datetime.combine(day + timedelta(days=1), time(12), tzinfo=UTC)
    result = DemoResult(out, out / "config.yaml", seed, agents, queues, day, 0.0, 0)
    with start_twin(
        seed=seed, agents=agents, queues=queues, days=2, live=False,
        now_ms=int(now.timestamp() * 1000), mixed_media=mixed_media,
    ) as twin:  # fmt: skip
        role = twin.org.licensed_role.name
        written = write_config(out, twin.base_url, twin.client_id, twin.client_secret, role)
        config = load_config(written)
        for name, profile, zone_name, interval in DESTINATIONS:
            job = build_job(config, f"demo/{name}", config.state_root(), cache_root=out / "cache")
            zone = ZoneInfo(zone_name)
            start = datetime.combine(day, time(0), tzinfo=zone)
            run = job.backfill(start, datetime.combine(day + timedelta(days=1), time(0), zone), now)
            if run.error:
                raise UsageError(f"demo destination {name} failed: {run.error}")
            assert isinstance(job.source, PulledFrames)
            assert isinstance(job.renderer, ProfileRenderer)
            totals = job.source.totals
            days = [a for a in job.renderer.accounts if a.day == day]
            result.api_requests += job.source.requests
            result.destinations.append(
                DemoDestination(
                    name=name,
                    profile=profile,
                    timezone=zone_name,
                    interval=interval,
                    day=day.isoformat(),
                    files=run.count("sent"),
                    bytes=sum(f.bytes for f in run.files),
                    periods=len({f.period_start for f in run.files}),
                    offered=sum(a.delivered for a in days),
                    reported=sum(a.reported for a in days),
                    unaccounted=sum(a.unaccounted for a in days),
                    reconcile="; ".join(a.line(f"demo/{name}") for a in days),
                    answered=int(totals.get("answered", 0)),
                    abandoned=int(totals.get("abandoned", 0)),
                    agents=int(totals.get("agents", 0)),
                    folder=out / "outbox" / name,
                )
            )
    mark_record(written)
    result.seconds = round(clock.monotonic() - began, 2)
    return result
