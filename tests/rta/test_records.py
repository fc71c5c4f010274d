"""Vendor record layouts as profile data: fields, widths, value maps, link status, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.rta.harness import layout
from wfmcli.cli.main import app
from wfmcli.errors import ConfigError
from wfmcli.reports.profiles import load_profile_file
from wfmcli.rta.model import AgentView, Change
from wfmcli.rta.records import Encoder, compile_expression, id_problems, layout_from

T = 1_773_154_800_123  # 2026-03-10 15:00:00.123 UTC


def view(state: str, code: str | int, reason: str = "", agent: str = "ada",
         source: str = "") -> AgentView:
    return AgentView(agent, source, state, code, reason, T)


def test_verint_event_types_follow_login_and_logout() -> None:
    encoder = Encoder(layout("verint"), clock=lambda: T + 5000)
    offline, idle = view("OFFLINE", 27), view("IDLE", 1)
    brk = view("BREAK", 5, "A reason that is much longer than 24")
    lines = encoder.changes([Change(idle, None), Change(brk, idle), Change(offline, brk),
                             Change(idle, offline)]).decode().split("\r\n")
    fields = [line.split("|") for line in lines if line]
    assert [f[0] for f in fields] == ["26", "28", "27", "26"]
    # reasonCode is declared `overflow: truncate` (Verint cuts to 24 itself)
    assert fields[1] == ["28", "ada", "", "2026-03-10T15:00:00.123Z", "5", "", "", "",
                         "A reason that is much lo", "0"]


def test_verint_link_status_records_say_starting_until_channels_are_up() -> None:
    encoder = Encoder(layout("verint"), clock=lambda: T)
    codes = [encoder.link(s).decode().split("|")[9].strip() for s in
             ("starting", "normal", "unavailable", "shutdown")]
    assert codes == ["3", "1", "3", "4"]


def test_per_source_blending_is_visible_in_verint_and_iex_records() -> None:
    verint = Encoder(layout("verint"), clock=lambda: T).snapshot(
        [view("IDLE", 1, source="emea"), view("BREAK", 5, source="apac")]).decode()
    assert [line.split("|")[6] for line in verint.split("\r\n") if line] == ["emea", "apac"]
    iex = Encoder(layout("nice-iex"), clock=lambda: T).snapshot([view("IDLE", 20,
                                                                      agent="4711",
                                                                      source="emea")])
    assert iex.decode().rstrip("\r\n").endswith("emea" + " " * 12)


def test_universal_acd_fixed_width_batch_with_header() -> None:
    encoder = Encoder(layout("alvaria"), clock=lambda: T + 65_000)
    data = encoder.changes([Change(view("ACW", 4, agent="E100012345"), None)]).decode()
    header, record, _ = data.split("\r\n")
    assert header == "H20260310150105"
    assert record == "A" + "E100012345" + " " * 6 + "0004" + "0000" + " " * 24 + "000065"


def test_an_id_that_does_not_fit_is_never_cut() -> None:
    encoder = Encoder(layout("alvaria"), clock=lambda: T)
    data = encoder.snapshot([view("IDLE", 1, agent="ada.fischer241@example.com"),
                             view("IDLE", 1, agent="E1")])
    assert b"ada.fische" not in data and b"AE1 " in data
    assert "holds 10" in encoder.rejected["ada.fischer241@example.com"]
    problems = id_problems(layout("alvaria"), {"u1": "ada.fischer241@example.com", "u2": "E1"},
                           "lab/aspect")
    assert len(problems) == 1 and "1 agent id(s)" in problems[0]
    assert "agentId holds 10" in problems[0] and "ada.fischer241@example.com" in problems[0]


def test_unicode_fixed_width_is_utf16() -> None:
    encoder = Encoder(layout("alvaria", unicode=True), clock=lambda: T)
    data = encoder.snapshot([view("IDLE", 1, agent="E1")])
    assert data.decode("utf-16-le").startswith("H20260310150000\r\nAE1        ")


def test_iex_template_and_calabrio_records() -> None:
    encoder = Encoder(layout("nice-iex"), clock=lambda: T)
    line = encoder.snapshot([view("INTERACTING", 30, agent="4711")]).decode()
    assert line == "4711            0030" + " " * 16 + "20260310150000" + " " * 16 + "\r\n"
    calabrio = layout("calabrio")
    assert calabrio.blend == "combined"
    record = Encoder(calabrio).record({"agent": "ada", "code": "X" * 30})
    assert record == {"UserCode": "ada", "StateCode": "X" * 25}


def test_expressions_are_the_safe_language_over_plain_values() -> None:
    run = compile_expression('if(seconds_in_state > 60, concat(upper(state), ":", code), "new")')
    assert run({"seconds_in_state": 61, "state": "acw", "code": 4}) == "ACW:4"
    assert run({"seconds_in_state": 3, "state": "acw", "code": 4}) == "new"
    assert compile_expression('fmt(since, "%H:%M:%S.{ms}")')({"since": T}) == "15:00:00.123"


CUSTOMER = """\
name: acme-iex
extends: nice-iex
rta:
  delimiter: ";"
  framing: delimited
  terminator: "\\n"
  fields:
    - {name: rec, expr: '"S"'}
    - {name: id, expr: agent, width: 8}
    - {name: code, expr: code, format: int, map: {"20": 1, "30": 2}, default: 9}
    - {name: reason, expr: 'left(upper(reason), 5)'}
    - {name: at, expr: since, format: "datetime:%H%M%S"}
"""


def test_a_customer_layout_is_a_profile_that_extends_a_built_in(tmp_path: Path) -> None:
    path = tmp_path / "acme-iex.yaml"
    path.write_text(CUSTOMER, encoding="utf-8")
    profile = load_profile_file(path, user_dir=tmp_path)
    assert profile.rta is not None and profile.rta.state_map["IDLE"] == 20  # inherited
    encoder = Encoder(layout_from(profile.rta, "acme-iex"), clock=lambda: T)
    data = encoder.snapshot([view("IDLE", 20, agent="4711"), view("BREAK", 50, "Lunch",
                                                                   agent="4712")])
    assert data == b"S;4711;1;;150000\nS;4712;9;LUNCH;150000\n"


def test_an_override_changes_one_field_of_a_built_in(tmp_path: Path) -> None:
    path = tmp_path / "wide-aspect.yaml"
    path.write_text("extends: alvaria\nrta:\n  override:\n    agentId: {width: 30}\n",
                    encoding="utf-8")
    profile = load_profile_file(path, user_dir=tmp_path)
    assert profile.rta is not None
    encoder = Encoder(layout_from(profile.rta, "wide-aspect"), clock=lambda: T)
    record = encoder.snapshot([view("IDLE", 1, agent="ada.fischer241@example.com")]).decode()
    assert "Aada.fischer241@example.com    " in record


@pytest.mark.parametrize(
    ("body", "line", "key", "message"),
    [
        ("  override:\n    agentID: {width: 30}\n", 4, "rta.override.agentID",
         "unknown field 'agentID' (did you mean 'agentId'?)"),
        ("  override:\n    agentId: {width: 0}\n", 4, "rta.override.agentId.width",
         "greater than or equal to 1"),
        ("  fields:\n    - {name: id, expr: agent_name, width: 5}\n", 4, "rta.fields[0].expr",
         "unknown name 'agent_name'"),
        ("  fields:\n    - {name: id, expr: 'open(\"/etc/passwd\")', width: 5}\n", 4,
         "rta.fields[0].expr", "unknown function 'open'"),
        ("  fields:\n    - {name: id, expr: agent}\n", 4, "rta.fields[0].width",
         "needs a width in a fixed layout"),
        ('  encoding: ascii\n  terminator: "\\u2028"\n', 4, "rta.terminator",
         "cannot be encoded in ascii"),
    ],
)
def test_bad_layouts_give_one_line_with_file_line_and_key(
    tmp_path: Path, body: str, line: int, key: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("extends: alvaria\nrta:\n" + body, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_profile_file(path, user_dir=tmp_path)
    first = caught.value.problems[0]
    assert first.startswith(f"{path}:{line}: {key}: "), first
    assert message in first
    result = CliRunner().invoke(app, ["profiles", "validate", str(path)])
    assert result.exit_code == 3
    assert "Traceback" not in result.output


@pytest.mark.parametrize("pattern", ["%Y-%m-%dT%H:%M:%S.{ms}Z", "%d/%m/%y %I:%M:%S %p",
                                     "%j %a %A %b %B %U %%", "%Y%m%d%H%M%S{ms}",
                                     "%Y-%m-%dT%H:%M:%S.%f%z %Z", "%s"])
def test_timestamps_read_as_datetime_writes_them(pattern: str) -> None:
    """Plain patterns take time.strftime (a third of the time), the rest datetime: every
    pattern writes what datetime.strftime writes for the UTC moment."""
    from datetime import UTC, datetime

    from wfmcli.rta.records import _fmt_time

    for ms in [0, 999, T, T + 86_399_999, 4_102_444_800_000, 951_782_400_500]:
        moment = datetime.fromtimestamp(ms / 1000, UTC)
        assert _fmt_time(ms, pattern) == moment.strftime(
            pattern.replace("{ms}", f"{ms % 1000:03d}")), (ms, pattern)


def test_a_record_names_the_first_field_that_cannot_be_written() -> None:
    """The quick path makes every cell first; a record with a problem is checked field by
    field in order, so the error is the one the layout's order gives."""
    from wfmcli.rta.records import RecordError

    encoder = Encoder(layout("verint"), clock=lambda: T)
    specs = encoder.layout.fields
    bad = view("BREAK", "5|x", "r" * 30, agent="b" * 200)  # agentId too wide, mode has "|"
    with pytest.raises(RecordError, match="field agentId"):
        encoder.line(specs, encoder.contexts([Change(bad, None)], T)[0])
    piped = view("BREAK", "5|x")
    with pytest.raises(RecordError, match=re.escape("field agentMode: '5|x' contains the")):
        encoder.line(specs, encoder.contexts([Change(piped, None)], T)[0])
    assert encoder.changes([Change(piped, None), Change(view("IDLE", 1), None)]).count(
        b"\r\n") == 1  # the bad record is left out, the good one goes


def _reference_line(encoder: Encoder, ctx: dict[str, object]) -> bytes:
    """The record the way every field was made before the quick path: field by field."""
    layout = encoder.layout
    fixed = layout.framing == "fixed"
    cells = encoder._checked_cells(layout.fields, ctx, fixed)
    return encoder._encode(("" if fixed else layout.delimiter).join(cells) + layout.terminator)


@pytest.mark.parametrize(("profile", "delimiter"), [("verint", None), ("verint", "||"),
                                                   ("verint", "a"), ("nice-iex", None),
                                                   ("alvaria", None)])
def test_the_quick_path_writes_what_the_field_by_field_path_writes(profile: str,
                                                                   delimiter: str | None) -> None:
    """Delimited and fixed records (JSON ones take their own path)."""
    from dataclasses import replace

    from wfmcli.rta.records import RecordError

    compiled = layout(profile)
    if delimiter is not None:
        compiled = replace(compiled, delimiter=delimiter)
    encoder = Encoder(compiled, clock=lambda: T)
    assert encoder.layout.framing in ("delimited", "fixed")
    views = [view("IDLE", 1), view("BREAK", 5, "A reason that is much longer than 24"),
             view("OFFLINE", 27, agent="x" * 300), view("AWAY", "7|x", "a|b"),
             view("MEAL", 4, "line\r\nbreak", source="emea"), view("TRAINING", "", "", "")]
    contexts = encoder.contexts([Change(v, None) for v in views], T) + encoder.snapshot_contexts(
        views, T)
    for ctx in contexts:
        try:
            expected: bytes | str = _reference_line(encoder, ctx)
        except RecordError as exc:
            expected = exc.message
        try:
            got: bytes | str = encoder.line(encoder.layout.fields, ctx)
        except RecordError as exc:
            got = exc.message
        assert got == expected, ctx
