"""Configuration: scopes (one Genesys source each) and their named destinations."""

from wfmcli.config.loader import load_config
from wfmcli.config.model import (
    Config,
    Credential,
    Delivery,
    Destination,
    Media,
    RtaSettings,
    Scope,
    Source,
)

__all__ = [
    "Config",
    "Credential",
    "Delivery",
    "Destination",
    "Media",
    "RtaSettings",
    "Scope",
    "Source",
    "load_config",
]
