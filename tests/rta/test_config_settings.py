"""The destination's rta settings reach the relay: blended scopes, blend rule, cadences."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfmcli.config import load_config
from wfmcli.config.model import RtaSettings
from wfmcli.errors import ConfigError
from wfmcli.rta.settings import relay_settings

CONFIG = """
scopes:
  emea:
    source:
      base_url: http://127.0.0.1:9
      credentials: [{client_id: a, client_secret: "${S}"}]
      licensed_role: WFM
    destinations:
      calabrio:
        profile: calabrio
        timezone: Europe/Berlin
        rta:
          endpoint: https://rta.example.invalid/
          api_key: "${S}"
          source_id: genesys
          scopes: [apac]
          blend: combined
          snapshot_every: 5m
          roster_refresh: 2m
  apac:
    source:
      base_url: http://127.0.0.1:10
      credentials: [{client_id: b, client_secret: "${S}"}]
      licensed_role: WFM
"""


def _config(tmp_path: Path, text: str = CONFIG):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, {"S": "secret-value-1"})


def test_blended_scopes_and_cadences_reach_the_relay(tmp_path: Path) -> None:
    settings = relay_settings(_config(tmp_path), "emea/calabrio", write_status=False)
    assert [source.scope for source in settings.sources] == ["emea", "apac"]
    assert [source.api_url for source in settings.sources] == [
        "http://127.0.0.1:9",
        "http://127.0.0.1:10",
    ]
    assert settings.blend == "combined"
    assert [s.roster_refresh_s for s in settings.sources] == [120.0, 120.0]
    (sink,) = settings.sinks
    assert sink.kind == "http-push" and sink.snapshot_every_s == 300.0


def test_unknown_blended_scope_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown scope 'nope'"):
        _config(tmp_path, CONFIG.replace("scopes: [apac]", "scopes: [nope]"))


def test_every_built_in_rta_layout_is_profile_data() -> None:
    """Profiles carry their record layout as data; the relay compiles it, guessing nothing."""
    from wfmcli.reports.profiles import load_profile
    from wfmcli.rta.records import layout_from

    for name, framing in (("verint", "delimited"), ("alvaria", "fixed"), ("calabrio", "json"),
                          ("nice-iex", "fixed"), ("nice-cxone", "json")):
        rta = load_profile(name).rta
        assert rta is not None and rta.framing == framing
        assert layout_from(rta, name).fields


def test_nice_iex_listens_by_default_and_connects_out_on_request(tmp_path: Path) -> None:
    from wfmcli.reports.profiles import load_profile
    from wfmcli.rta.settings import sink_specs

    rta = load_profile("nice-iex").rta
    assert rta is not None and rta.transport == "tcp-server" and rta.placeholder_codes
    with pytest.raises(ConfigError, match="needs listen"):
        sink_specs("lab/iex", rta, RtaSettings(), stdout=False)
    (server,) = sink_specs("lab/iex", rta, RtaSettings(listen="0.0.0.0:7300"), stdout=False)
    assert (server.kind, server.port) == ("tcp-server", 7300)
    (client,) = sink_specs("lab/iex", rta, RtaSettings(endpoint="tcp://iex.example:7301"),
                           stdout=False)
    assert (client.kind, client.host, client.port) == ("tcp-client", "iex.example", 7301)
