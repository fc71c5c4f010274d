"""Build configuration files for tests."""

from __future__ import annotations

from pathlib import Path

VALID = """\
version: 1
scopes:
  prod:
    source:
      region: mypurecloud.ie
      credentials:
        - client_id: client-one
          client_secret: ${GC_SECRET}
      divisions: [Home]
      licensed_role: WFM Agent
    destinations:
      nice:
        profile: nice-iex
        timezone: America/New_York
        interval: 15
        delivery:
          url: sftp://wfm@iex.example.com/import
          password: ${SFTP_PASSWORD}
        rta:
          listen: 127.0.0.1:7100
          api_key: ${RTA_KEY}
"""

ENV = {
    "GC_SECRET": "gc-secret-value-41",
    "SFTP_PASSWORD": "sftp-password-value-42",
    "RTA_KEY": "rta-api-key-value-43",
}


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
