"""Read canonical frames back from Parquet: what `wfm pull --out` writes, or any folder of files.

Frames are read with as few copies as pandas allows (Arrow buffers handed over, casts only where
a column is not yet canonical, no de-duplication copy when nothing repeats), since a rendered day
of a large org is the largest thing `wfm report` holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from wfmcli import frames
from wfmcli.errors import UsageError


def frame_files(root: Path, frame_name: str) -> list[Path]:
    """Every Parquet file of one frame below root.

    Accepted shapes: root/<frame>.parquet, root/.../<frame>/**/*.parquet (partitioned by scope
    and day, as the pull writes), root/.../<frame>-*.parquet; or root itself, named <frame>.parquet.
    """
    if root.is_file():
        return [root] if root.stem == frame_name else []
    found: set[Path] = set()
    found.update(root.rglob(f"{frame_name}.parquet"))
    found.update(root.rglob(f"{frame_name}-*.parquet"))
    for folder in (p for p in root.rglob(frame_name) if p.is_dir()):
        found.update(folder.rglob("*.parquet"))
    return sorted(found)


def load_frames(roots: Iterable[Path]) -> dict[str, pd.DataFrame]:
    """The frames found under the given folders or files, each coerced to its canonical dtypes."""
    roots = list(roots)
    for root in roots:
        if not root.exists():
            raise UsageError(f"frames folder or file {root} does not exist")
    loaded: dict[str, pd.DataFrame] = {}
    for name in frames.FRAMES:
        files = [path for root in roots for path in frame_files(root, name)]
        if not files:
            continue
        parts = [_read(path) for path in files]
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        del parts
        frame = frames.coerce(name, frame)
        # The same rows in several files: the last one wins. Most loads have none, and then
        # the frame is kept as read (a copy of a 20,000-agent day is hundreds of MB).
        repeated = frame.duplicated(frames.FRAMES[name].keys, keep="last")
        if repeated.any():
            frame = frame[~repeated]
        frame = frame.reset_index(drop=True)
        frames.validate(name, frame)
        loaded[name] = frame
    if not loaded:
        where = ", ".join(str(root) for root in roots)
        raise UsageError(
            f"no frame Parquet files found in {where}",
            hint="expected files such as queue_interval.parquet "
            f"(frames: {', '.join(frames.FRAMES)})",
        )
    return loaded


def _read(path: Path) -> pd.DataFrame:
    try:
        # Arrow buffers are released column by column as pandas takes them over, so a file
        # does not sit in memory twice.
        table = pq.read_table(path)
        return table.to_pandas(self_destruct=True, split_blocks=True)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise UsageError(f"cannot read Parquet file {path}: {exc}") from exc
