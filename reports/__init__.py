"""Canonical frames + a vendor profile -> the WFM system's import files.

    render_reports(frames, profile, destination, start, end, out_dir, clock) -> [RenderedFile]

`profiles` finds and validates profiles (YAML data in the top-level `profiles` package and the
user's profiles folder), `spec` is their schema, `expr` the safe column expression language,
`render` the one engine, `layout` and `formats` the text, `checks` the vendors' consistency rules,
`reader` the inverse of the layout, `source` reads frames back from Parquet.
"""

from reports.profiles import load_profile
from reports.render import Destination, RenderedFile, render_reports

__all__ = ["Destination", "RenderedFile", "load_profile", "render_reports"]
