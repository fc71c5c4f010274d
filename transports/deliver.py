"""Deliver a batch of files through one connection and report on each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wfmcli.errors import WfmError
from wfmcli.transports.base import FileResult, ProbeStep
from wfmcli.transports.registry import open_transport


@dataclass
class DeliveryReport:
    url: str
    files: list[FileResult]
    # The first failure, for the exit code; not part of the rendered result.
    first_error: WfmError | None = field(default=None, repr=False, compare=False)

    @property
    def sent(self) -> int:
        return sum(1 for result in self.files if result.sent)

    @property
    def failed(self) -> int:
        return len(self.files) - self.sent


def upload_files(
    url: str, options: Mapping[str, Any], files: Sequence[Path]
) -> DeliveryReport:
    """Send each file under its own name into the URL's folder.

    A failure to connect at all raises; a file that fails after its retries is recorded and the
    rest are still sent.
    """
    transport = open_transport(url, options)
    report = DeliveryReport(url=transport.display(), files=[])
    with transport:
        for path in files:
            try:
                report.files.append(transport.put(path, path.name))
            except WfmError as exc:
                report.first_error = report.first_error or exc
                report.files.append(
                    FileResult(
                        local_path=str(path),
                        remote_path=path.name,
                        sent=False,
                        bytes=0,
                        seconds=0.0,
                        attempts=transport.last_attempts,
                        error=exc.one_line(),
                    )
                )
    return report


def probe(url: str, options: Mapping[str, Any]) -> tuple[str, list[ProbeStep]]:
    """Run `wfm transports test`: the redacted URL and each step's outcome."""
    transport = open_transport(url, options)
    try:
        return transport.display(), transport.probe()
    finally:
        transport.close()
