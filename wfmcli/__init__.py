"""wfm: Genesys Cloud to workforce-management integration toolkit."""

import sys

# httpx imports its own command-line client when click, rich and pygments are installed (about
# 60 ms, on `rta serve`'s path to its first request); wfm never runs it. None here makes that
# import fail, and httpx falls back to a stub `httpx.main`.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

# CalVer: YYYY.MM.DD[.N], the day the release was cut.
__version__ = "2026.11.25"
