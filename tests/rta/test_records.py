"""Vendor record layouts: fields, widths, event types, link status."""

from __future__ import annotations

import pytest

from wfmcli.errors import ConfigError
from wfmcli.reports.profiles import load_profile
from wfmcli.rta.model import AgentView, Change
from wfmcli.rta.records import Encoder, layout_for, state_code

T = 1_773_154_800_123  # 2026-03-10 15:00:00.123 UTC


def protocol(profile: str) -> str:
    rta = load_profile(profile).rta
    assert rta is not None
    return rta.protocol


def view(state: str, code: str | int, reason: str = "", agent: str = "ada") -> AgentView:
    return AgentView(agent, "", state, code, reason, T)


def test_verint_event_types_follow_login_and_logout() -> None:
    encoder = Encoder(layout_for(protocol("verint")), clock=lambda: T + 5000)
    offline, idle = view("OFFLINE", 27), view("IDLE", 1)
    brk = view("BREAK", 5, "A reason that is much longer than 24")
    lines = encoder.changes([Change(idle, None), Change(brk, idle), Change(offline, brk),
                             Change(idle, offline)]).decode().split("\r\n")
    fields = [line.split("|") for line in lines if line]
    assert [f[0] for f in fields] == ["26", "28", "27", "26"]
    assert fields[1] == ["28", "ada", "", "2026-03-10T15:00:00.123Z", "5", "", "", "",
                         "A reason that is much lo", "0"]


def test_verint_link_status_records() -> None:
    encoder = Encoder(layout_for(protocol("verint")), clock=lambda: T)
    codes = [encoder.link(s).decode().split("|")[9].strip() for s in
             ("normal", "unavailable", "shutdown")]
    assert codes == ["1", "3", "4"]


def test_universal_acd_fixed_width_batch_with_header() -> None:
    encoder = Encoder(layout_for(protocol("alvaria")), clock=lambda: T + 65_000)
    data = encoder.changes([Change(view("ACW", 4, agent="E100012345678"), None)]).decode()
    header, record, _ = data.split("\r\n")
    assert header == "H20260310150105"
    assert record == "A" + "E100012345" + " " * 6 + "0004" + "0000" + " " * 24 + "000065"


def test_unicode_fixed_width_is_utf16() -> None:
    encoder = Encoder(layout_for(protocol("alvaria"), unicode=True), clock=lambda: T)
    data = encoder.snapshot([view("IDLE", 1, agent="E1")])
    assert data.decode("utf-16-le").startswith("H20260310150000\r\nAE1        ")


def test_iex_template_and_calabrio_codes() -> None:
    encoder = Encoder(layout_for(protocol("nice-iex")), clock=lambda: T)
    line = encoder.snapshot([view("INTERACTING", 30, agent="4711")]).decode()
    assert line == "4711            0030" + " " * 16 + "20260310150000\r\n"
    calabrio = layout_for(protocol("calabrio"))
    assert calabrio.blend == "combined"
    assert state_code(view("BREAK", "X" * 30), calabrio) == "X" * 25


def test_unknown_protocol_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no RTA record layout"):
        layout_for("Carrier pigeon")
