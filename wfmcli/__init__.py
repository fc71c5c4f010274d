"""wfm: Genesys Cloud to workforce-management integration toolkit."""

import os
import sys

# httpx imports its own command-line client when click, rich and pygments are installed (about
# 60 ms, on `rta serve`'s path to its first request); wfm never runs it. None here makes that
# import fail, and httpx falls back to a stub `httpx.main`.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

# Arrow's C++ code picks its default allocator once, from this variable, when pyarrow loads.
# Parquet's and Arrow IPC's writers allocate from that default whatever pyarrow's own default
# is set to later (see `pull.run._arrow_from_the_c_heap`), and mimalloc, the wheels' default,
# kept about 37 MiB of what the Parquet writer freed in one 100,000-agent day's store.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

# CalVer: YYYY.MM.DD[.N], the day the release was cut.
__version__ = "2026.11.25"
