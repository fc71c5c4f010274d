"""A job that SIGKILLs itself at a stage: python -m tests.jobs.killer FOLDER STAGE NOW [URL].

A password for URL comes from the environment variable KILLER_PASSWORD.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.jobs.pipeline import kill_self, make_job
from wfmcli.cli.run_cmd import stop_on_sigterm


def main(folder: Path, stage: str, now: datetime, url: str | None) -> None:
    password = os.environ.get("KILLER_PASSWORD")
    job = make_job(
        folder, "calabrio", url=url, options={"password": password} if password else None
    )
    source_frames, render, opener = job.source.frames, job.renderer.render, job.open_transport
    puts = 0

    def frames(start: datetime, end: datetime, names: Any, now: datetime) -> Any:
        result = source_frames(start, end, names, now)
        if stage == "after_pull":
            kill_self()
        return result

    def rendered(*args: Any) -> Any:
        result = render(*args)
        if stage == "after_render":
            kill_self()
        return result

    def open_transport() -> Any:
        transport = opener()
        upload, put = transport._upload, transport.put

        def half_upload(local: Path, remote: str) -> None:
            if stage == "mid_upload" and puts == 1:
                half = local.with_name(local.name + ".half")
                shutil.copyfile(local, half)
                with half.open("r+b") as handle:
                    handle.truncate(local.stat().st_size // 2)
                upload(half, remote)  # half the file reaches the server's temp name
                kill_self()
            upload(local, remote)

        def put_then_die(local: Path, name: str) -> Any:
            nonlocal puts
            result = put(local, name)
            puts += 1
            if stage == "before_state" and puts == 2:
                kill_self()
            if stage == "sigterm" and puts == 1:
                os.kill(os.getpid(), signal.SIGTERM)  # as a scheduler stopping the task would
            return result

        transport._upload, transport.put = half_upload, put_then_die  # type: ignore[method-assign]
        return transport

    job.source.frames = frames  # type: ignore[method-assign]
    job.renderer.render = rendered  # type: ignore[method-assign]
    job.open_transport = open_transport
    stop_on_sigterm(job.stop)
    result = job.run(now)
    print(result.summary())
    sys.exit(int(result.exit_code))


if __name__ == "__main__":
    url = sys.argv[4] if len(sys.argv) > 4 else None
    main(Path(sys.argv[1]), sys.argv[2], datetime.fromisoformat(sys.argv[3]), url)
