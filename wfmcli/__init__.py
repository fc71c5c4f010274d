"""wfm: Genesys Cloud to workforce-management integration toolkit."""

# CalVer: YYYY.MM.DD[.N], the day the release was cut.
__version__ = "2026.11.25"
