"""Global options, shared by every command through the Typer context."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer


@dataclass
class GlobalOptions:
    config_path: Path | None = None
    json: bool = False
    verbosity: int = 0
    debug: bool = False
    log_file: Path | None = None


def global_options(ctx: typer.Context) -> GlobalOptions:
    options = ctx.find_object(GlobalOptions)
    return options if options is not None else GlobalOptions()


# Commands accept --json after their own name too, since that is where people type it.
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")
]
