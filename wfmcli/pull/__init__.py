"""The historical pull: Genesys Cloud analytics -> the canonical frames, cached as Parquet."""

from wfmcli.pull.cache import FrameCache, Partition
from wfmcli.pull.run import PullResult, PullSource, PullSpec, pull, pull_async

__all__ = ["FrameCache", "Partition", "PullResult", "PullSource", "PullSpec", "pull", "pull_async"]
