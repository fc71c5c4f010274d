"""Where wfm keeps its files, per the platform's conventions (XDG on Linux, AppData on Windows)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "wfm"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    """WFM_CONFIG wins; otherwise config.yaml in the user's config folder."""
    override = os.environ.get("WFM_CONFIG")
    return Path(override) if override else config_dir() / "config.yaml"


def data_dir() -> Path:
    override = os.environ.get("WFM_DATA_DIR")
    return (
        Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    )


def cache_dir() -> Path:
    override = os.environ.get("WFM_CACHE_DIR")
    return (
        Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    )
