"""A configuration file whose scope `prod` reads the twin; the secret comes from TWIN_SECRET."""

from __future__ import annotations

from pathlib import Path

from wfmcli.sim import RunningTwin


def write_twin_config(path: Path, twin: RunningTwin, destinations: str = "") -> Path:
    """destinations: YAML for scopes.prod.destinations, indented by six spaces, or ''."""
    text = f"""
scopes:
  prod:
    source:
      base_url: {twin.base_url}
      credentials:
        - client_id: {twin.client_id}
          client_secret: ${{TWIN_SECRET}}
      licensed_role: {twin.org.licensed_role.name}
"""
    if destinations:
        text += "    destinations:\n" + destinations
    path.write_text(text, encoding="utf-8")
    return path
