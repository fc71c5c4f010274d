"""Read canonical frames back from Parquet: what `wfm pull --out` writes, or any folder of files."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa

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
        keys = frames.FRAMES[name].keys
        frame = frames.coerce(name, frame).drop_duplicates(keys, keep="last")
        frames.validate(name, frame.reset_index(drop=True))
        loaded[name] = frame.reset_index(drop=True)
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
        return pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise UsageError(f"cannot read Parquet file {path}: {exc}") from exc
