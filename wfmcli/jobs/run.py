"""One run of one destination: plan, pull, render, deliver, and record only what was confirmed.

Crash safety comes from the order of writes: a file is journalled as in flight before it is sent
and recorded as delivered only after the transport confirmed it. A run killed at any point leaves
either nothing, an in-flight entry (checked against the remote size next time, so it is neither
lost nor sent twice), or a complete record.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from wfmcli.errors import ExitCode, WfmError
from wfmcli.jobs.lock import DestinationLock
from wfmcli.jobs.plan import Period, Plan, Report, Timing, plan_range, plan_run, pull_groups
from wfmcli.jobs.state import (
    Delivered,
    DeliveryState,
    InFlight,
    RunRecord,
    StateStore,
    period_key,
)
from wfmcli.secrets import redact

if TYPE_CHECKING:
    import pandas as pd

    from wfmcli.reports.render import RenderedFile
    from wfmcli.transports.base import Transport

log = logging.getLogger("wfm.jobs")
Outcome = Literal["nothing", "delivered", "partial", "failed"]


class FrameSource(Protocol):
    def frames(
        self, start: datetime, end: datetime, names: Collection[str], now: datetime
    ) -> Mapping[str, pd.DataFrame]: ...


class Renderer(Protocol):
    def reports(self) -> Sequence[Report]: ...

    def render(
        self, frames: Mapping[str, pd.DataFrame], start: datetime, end: datetime, out_dir: Path
    ) -> list[RenderedFile]: ...


@dataclass
class FileOutcome:
    name: str
    report: str
    period_start: datetime
    bytes: int
    action: Literal["sent", "confirmed", "unchanged", "failed"]
    error: str = ""


@dataclass
class RunResult:
    target: str
    started_at: datetime
    finished_at: datetime
    outcome: Outcome
    new_periods: int
    rechecked_periods: int
    files: list[FileOutcome] = field(default_factory=list)
    error: str = ""
    exit_code: int = ExitCode.OK

    def count(self, action: str) -> int:
        return sum(1 for f in self.files if f.action == action)

    def summary(self) -> str:
        return (
            f"{self.target}: {self.outcome}; {self.count('sent')} sent, "
            f"{self.count('confirmed')} confirmed after an interrupted run, "
            f"{self.count('unchanged')} unchanged, {self.count('failed')} failed; "
            f"{self.new_periods} new and {self.rechecked_periods} re-checked periods"
            + (f"; {self.error}" if self.error else "")
        )


@dataclass
class Job:
    target: str
    timing: Timing
    source: FrameSource
    renderer: Renderer
    open_transport: Callable[[], Transport]
    store: StateStore
    lock_path: Path
    stop: threading.Event = field(default_factory=threading.Event)
    # raises when the delivery state belongs to someone else (another org under this scope name)
    check_owner: Callable[[], object] = lambda: None

    def run(self, now: datetime) -> RunResult:
        """Deliver what has closed and is not yet delivered, and re-send what changed."""
        with DestinationLock(self.lock_path, self.target):
            self.check_owner()
            state = self.store.load()
            plan = plan_run(self.renderer.reports(), self.timing, now, state.delivered_periods())
            return self._run_locked(now, state, plan, force=False)

    def backfill(self, start: datetime, end: datetime, now: datetime) -> RunResult:
        """Re-deliver every closed period in [start, end), changed or not."""
        with DestinationLock(self.lock_path, self.target):
            self.check_owner()
            state = self.store.load()
            plan = plan_range(self.renderer.reports(), self.timing, start, end, now)
            return self._run_locked(now, state, plan, force=True)

    def _run_locked(
        self, now: datetime, state: DeliveryState, plan: Plan, *, force: bool
    ) -> RunResult:
        started = datetime.now(UTC)
        result = RunResult(
            self.target, started, started, "nothing", len(plan.new), len(plan.recheck)
        )
        if plan.periods:
            try:
                self._deliver(plan, state, result, force, now)
            except WfmError as exc:
                result.error = exc.one_line()
                result.exit_code = exc.exit_code
        elif state.temp_files:
            self._clean_only(state)
        state.forget_before(now - self.timing.max_backfill - self.timing.resend)
        result.finished_at = datetime.now(UTC)
        result.outcome = _outcome(result)
        if result.outcome == "nothing":
            result.exit_code = ExitCode.NOTHING_TO_DO
        elif result.outcome == "partial":
            result.exit_code = ExitCode.PARTIAL
        state.add_run(_record(result))
        self.store.save(state)
        log.info("%s", redact(result.summary()))
        return result

    def _deliver(
        self, plan: Plan, state: DeliveryState, result: RunResult, force: bool, now: datetime
    ) -> None:
        wanted = {(p.report, p.start) for p in plan.periods}
        frame_of = {report.name: report.frame for report in self.renderer.reports()}
        with tempfile.TemporaryDirectory(prefix="wfm-run-") as folder:
            delivery = _Delivery(self, state, result, force, wanted, Path(folder))
            try:
                # one pull per group of local days, then render and deliver day by day (as
                # before: each day's files from that day's frames), saving progress per day
                for group in pull_groups(plan.periods, self.timing.zone, frame_of):
                    if self.stop.is_set():
                        result.error = "stopped by a signal; the next run continues"
                        return
                    periods = [period for day in group for period in day]
                    needed = {frame_of[p.report] for p in periods}
                    pulled = self.source.frames(*_span(periods), needed, now)
                    for day in group:
                        start, end = _span(day)
                        frames = pulled if len(group) == 1 else _day_part(pulled, start, end)
                        if not delivery.day(frames, start, end):
                            return
                        self.store.flush()
            finally:
                delivery.close()

    def _connect(self, state: DeliveryState) -> Transport:
        """A connected transport that journals its temp names, after removing those that
        interrupted runs left behind."""
        transport = self.open_transport()
        transport.on_temp = lambda name: self.store.record_temp(state, name, _now_iso())
        transport.on_temp_gone = lambda name: self.store.record_temp_gone(state, name)
        transport.connect()
        for name in sorted(state.temp_files):
            try:
                transport.remove_temp(name)
                log.info("%s: removed %s, left by an interrupted run", self.target, name)
            except WfmError as exc:
                log.warning("%s: cannot remove %s yet: %s", self.target, name, exc.one_line())
        return transport

    def _clean_only(self, state: DeliveryState) -> None:
        """Nothing to deliver, but an interrupted run left temp files: remove them now."""
        try:
            self._connect(state).close()
        except WfmError as exc:
            log.warning("%s: temp files left to clean later: %s", self.target, exc.one_line())

    def _deliver_file(
        self,
        file: RenderedFile,
        name: str,
        state: DeliveryState,
        transport: Transport,
        force: bool,
    ) -> FileOutcome:
        key = period_key(file.report, _utc(file.start).isoformat())
        outcome = FileOutcome(name, file.report, _utc(file.start), file.bytes, "unchanged")
        known = state.files.get(key)
        if not force and known is not None and known.sha256 == file.sha256:
            return outcome
        flying = state.in_flight.get(key)
        # killed after the upload but before the record: the remote copy tells which
        if (
            not force
            and flying is not None
            and flying.sha256 == file.sha256
            and transport.size(flying.name) == flying.bytes
        ):
            self._record(state, key, file, flying.name)
            outcome.name, outcome.action = flying.name, "confirmed"
            return outcome
        self.store.record_in_flight(state, key, InFlight(name, file.sha256, file.bytes, _now_iso()))
        try:
            transport.put(file.path, name)
        except WfmError as exc:
            outcome.action, outcome.error = "failed", exc.one_line()
            raise
        self._record(state, key, file, name)
        outcome.action = "sent"
        return outcome

    def _record(self, state: DeliveryState, key: str, file: RenderedFile, name: str) -> None:
        delivered = Delivered(
            name=name,
            sha256=file.sha256,
            bytes=file.bytes,
            report=file.report,
            period_start=_utc(file.start).isoformat(),
            period_end=_utc(file.end).isoformat(),
            delivered_at=_now_iso(),
        )
        self.store.record_delivered(state, key, delivered)


@dataclass
class _Delivery:
    """Renders one local day's frames and delivers its due files (one transport per run)."""

    job: Job
    state: DeliveryState
    result: RunResult
    force: bool
    wanted: set[tuple[str, datetime]]
    folder: Path
    transport: Transport | None = None

    def day(self, frames: Mapping[str, pd.DataFrame], start: datetime, end: datetime) -> bool:
        """False when a stop signal came in the middle (the result says so)."""
        job, result = self.job, self.result
        out_dir = self.folder / start.strftime("%Y%m%dT%H%M")
        rendered = job.renderer.render(frames, start, end, out_dir)
        due = [f for f in rendered if (f.report, _utc(f.start)) in self.wanted]
        for note in (warning for f in due for warning in f.warnings):
            # explained vendor-rule imbalances, e.g. contacts waiting across midnight
            log.info("%s: %s", job.target, note)
        for file in sorted(due, key=lambda f: (_utc(f.start), f.report)):
            if job.stop.is_set():
                result.error = "stopped by a signal; the next run continues"
                return False
            if self.transport is None:
                self.transport = job._connect(self.state)
            name = file.path.relative_to(out_dir).as_posix()
            result.files.append(
                job._deliver_file(file, name, self.state, self.transport, self.force)
            )
        return True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _span(periods: Sequence[Period]) -> tuple[datetime, datetime]:
    return min(p.start for p in periods), max(p.end for p in periods)


def _day_part(
    pulled: Mapping[str, pd.DataFrame], start: datetime, end: datetime
) -> dict[str, pd.DataFrame]:
    """One day's rows of frames pulled for several days: what a pull of [start, end) alone
    returns (rows by their time column; anything that is not a canonical frame as it is)."""
    import pandas

    from wfmcli import frames as canonical

    part: dict[str, pd.DataFrame] = {}
    for name, df in pulled.items():
        if name not in canonical.FRAMES:
            part[name] = df
            continue
        times = df[canonical.spec(name).time_column]
        inside = (times >= pandas.Timestamp(start)) & (times < pandas.Timestamp(end))
        part[name] = df[inside].reset_index(drop=True)
    return part


def _outcome(result: RunResult) -> Outcome:
    sent = result.count("sent") + result.count("confirmed")
    if result.error:
        return "partial" if sent else "failed"
    return "delivered" if sent else "nothing"


def _record(result: RunResult) -> RunRecord:
    return RunRecord(
        started_at=result.started_at.isoformat(),
        finished_at=result.finished_at.isoformat(),
        outcome=result.outcome,
        delivered=result.count("sent") + result.count("confirmed"),
        unchanged=result.count("unchanged"),
        failed=result.count("failed"),
        message=redact(result.error),
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()
