"""Built-in vendor profiles: one YAML file per WFM system, shipped as package data."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def builtin_files() -> dict[str, Traversable]:
    """Profile name -> its YAML file inside the installed package."""
    return {
        entry.name.removesuffix(".yaml"): entry
        for entry in files(__name__).iterdir()
        if entry.is_file() and entry.name.endswith(".yaml")
    }
