"""Canonical frames + a vendor profile -> the WFM system's import files.

    reports.render.render_reports(frames, profile, destination, start, end, out_dir, clock)
        -> [RenderedFile]

`profiles` finds and validates profiles (YAML data in the top-level `profiles` package and the
user's profiles folder), `spec` is their schema, `expr` the safe column expression language,
`render` the one engine, `layout` and `formats` the text, `checks` the vendors' consistency rules,
`reader` the inverse of the layout, `source` reads frames back from Parquet.

Import from the submodules: this package imports nothing itself, so reading a profile (as the
RTA relay does at start) does not load the render engine.
"""
