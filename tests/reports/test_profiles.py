"""Profiles: every built-in one loads; user overrides, extends, one-line errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

import wfmcli.profiles as builtin
from wfmcli.errors import ConfigError
from wfmcli.reports.profiles import load_profile, load_profile_file, sources, summaries

EXPECTED = {"calabrio", "nice-iex", "nice-cxone", "verint", "alvaria", "alvaria-via"}


def test_every_builtin_profile_is_present_and_valid(tmp_path: Path) -> None:
    assert set(builtin.builtin_files()) == EXPECTED
    for name in EXPECTED:
        profile = load_profile(name, user_dir=tmp_path)
        assert profile.name == name
        assert profile.reports
        assert profile.rta is not None and profile.rta.state_map


def test_published_layouts_are_marked() -> None:
    calabrio = load_profile("calabrio")
    queue = calabrio.reports["queue"]
    assert queue.publication == "published"
    assert len(queue.columns) == 21 and queue.delimiter == ";" and not queue.header
    assert [c.name for c in queue.columns[:5]] == [
        "interval",
        "date",
        "time",
        "queue",
        "queue_name",
    ]
    assert load_profile("nice-iex").reports["queue"].publication == "template"
    history = load_profile("nice-cxone").reports["history"]
    assert history.max_name_length == 30 and history.file_name.startswith("History-")
    verint = load_profile("verint")
    assert set(verint.reports) == {"call_stats", "chat_stats", "email_stats", "agent_productivity"}


def test_alvaria_via_extends_alvaria() -> None:
    via, base = load_profile("alvaria-via"), load_profile("alvaria")
    assert via.reports == base.reports
    assert "webdav" in via.delivery and via.delivery != base.delivery


def test_user_profile_overrides_builtin_through_extends(tmp_path: Path) -> None:
    (tmp_path / "calabrio.yaml").write_text(
        "extends: calabrio\nreports:\n  queue:\n    delimiter: ','\n", encoding="utf-8"
    )
    profile = load_profile("calabrio", user_dir=tmp_path)
    assert profile.reports["queue"].delimiter == ","
    assert len(profile.reports["queue"].columns) == 21
    assert sources(tmp_path)["calabrio"].origin == str(tmp_path / "calabrio.yaml")
    assert {s.name for s in summaries(tmp_path)} == EXPECTED


def _error(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_profile_file(path, user_dir=tmp_path)
    message = caught.value.one_line()
    assert "\n" not in message
    return caught.value


MINIMAL = """\
name: mine
product: Mine
delivery: sftp
reports:
  queue:
    frame: queue_interval
    file_name: "q_{start:%Y%m%d}.csv"
    columns:
      - {name: offered}
"""


def test_a_minimal_profile_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert (
        load_profile_file(path, user_dir=tmp_path).reports["queue"].columns[0].source == "offered"
    )


def test_unknown_key_names_file_line_and_allowed_keys(tmp_path: Path) -> None:
    error = _error(tmp_path, MINIMAL.replace("    frame:", "    delimeter: ';'\n    frame:"))
    assert (
        f"{tmp_path / 'mine.yaml'}:6: reports.queue.delimeter: unknown key 'delimeter'"
        in error.message
    )
    assert "allowed:" in error.message and "delimiter" in error.message


def test_bad_enum_and_format_are_explained(tmp_path: Path) -> None:
    error = _error(
        tmp_path,
        MINIMAL.replace("{name: offered}", "{name: offered, format: 'hh:mm'}").replace(
            "    frame:", "    layout: csv\n    frame:"
        ),
    )
    joined = " | ".join(error.problems)
    assert "reports.queue.layout" in joined and "'delimited' or 'fixed'" in joined
    assert "unknown format 'hh:mm'; allowed: text, int" in joined
    assert ":10: reports.queue.columns[0].format" in joined


def test_unknown_name_in_expression_suggests_a_column(tmp_path: Path) -> None:
    error = _error(tmp_path, MINIMAL.replace("{name: offered}", "{name: x, expr: ofered + 1}"))
    assert "reports.queue.columns[0].expr: unknown name 'ofered'" in error.message
    assert "did you mean 'offered'?" in error.message


def test_unsafe_expression_is_a_profile_error(tmp_path: Path) -> None:
    error = _error(tmp_path, MINIMAL.replace("{name: offered}", "{name: x, expr: 'open(1)'}"))
    assert "unknown function 'open'" in error.message


def test_fixed_layout_needs_widths_and_extends_must_exist(tmp_path: Path) -> None:
    error = _error(tmp_path, MINIMAL.replace("    frame:", "    layout: fixed\n    frame:"))
    assert "a fixed layout needs a width on every column" in error.message
    error = _error(tmp_path, "extends: nobody\n" + MINIMAL)
    assert "extends names unknown profile 'nobody'" in error.message


def test_unknown_profile_suggests_the_nearest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'verint'"):
        load_profile("verrint")
