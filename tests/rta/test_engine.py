"""The state engine with plain function calls: no sockets, no clock but the one passed in."""

from __future__ import annotations

import pytest

from wfmcli.errors import ConfigError
from wfmcli.rta.engine import Engine
from wfmcli.rta.model import Media, Observation, Presence, Routing
from wfmcli.rta.statemap import BASE_STATES, StateMap

CODES = {key: key.lower() for key in BASE_STATES}


def on_queue(agent: str, status: str, t: int, *, source: str = "s1", since: int = 0) -> Observation:
    return Observation(agent, source, Presence("ON_QUEUE", None, since), Routing(status, t))


def presence(agent: str, system: str, t: int, secondary: str | None = None,
             source: str = "s1") -> Observation:
    return Observation(agent, source, Presence(system, secondary, t), Routing("OFF_QUEUE", t))


def engine(**kwargs: object) -> Engine:
    return Engine(StateMap(CODES, kwargs.pop("overrides", None)), **kwargs)  # type: ignore[arg-type]


def test_first_state_then_changes_in_order() -> None:
    e = engine()
    first = e.apply(on_queue("a", "IDLE", 1000), 1000)
    assert [(c.view.state, c.previous) for c in first] == [("IDLE", None)]
    second = e.apply(on_queue("a", "INTERACTING", 2000), 2000)
    assert second[0].view.state == "INTERACTING"
    assert second[0].previous is not None and second[0].previous.state == "IDLE"
    assert e.view("a", "s1") == second[0].view


def test_stale_and_duplicate_events_are_dropped() -> None:
    e = engine()
    e.apply(on_queue("a", "INTERACTING", 5000), 5000)
    assert e.apply(on_queue("a", "IDLE", 4000), 6000) == []  # older than what we hold
    assert e.apply(on_queue("a", "INTERACTING", 5000), 6000) == []  # the same event again
    assert e.stats["stale"] == 1
    assert e.stats["duplicate"] >= 2
    assert e.view("a", "s1").state == "INTERACTING"  # type: ignore[union-attr]


def test_presence_states_reasons_and_offline() -> None:
    e = engine()
    [c] = e.apply(presence("a", "BREAK", 1000, "Short Break"), 1000)
    assert (c.view.state, c.view.reason) == ("BREAK", "Short Break")
    [c] = e.apply(presence("a", "IDLE", 2000), 2000)
    assert c.view.state == "AWAY"  # Genesys' IDLE presence is not routing IDLE
    [c] = e.apply(presence("a", "OFFLINE", 3000), 3000)
    assert (c.view.state, c.view.code, c.view.logged_in) == ("OFFLINE", "offline", False)


def test_destination_overrides_and_refinements() -> None:
    e = engine(overrides={"BREAK": "PAUSE", "BREAK:Lunch": "LUNCH", "INTERACTING:email": "MAIL"},
               detailed=True)
    [c] = e.apply(presence("a", "BREAK", 1000, "Coffee"), 1000)
    assert c.view.code == "PAUSE"
    [c] = e.apply(presence("a", "BREAK", 2000, "Lunch"), 2000)
    assert c.view.code == "LUNCH"
    e.apply(on_queue("b", "INTERACTING", 1000), 1000)
    [c] = e.apply(Observation("b", "s1", media=Media(("email",), (), 1500)), 1500)
    assert (c.view.state, c.view.code) == ("INTERACTING", "MAIL")
    [c] = e.apply(Observation("b", "s1", media=Media((), ("email",), 1600)), 1600)
    assert c.view.state == "ACW"


def test_media_ignored_outside_detailed_mode() -> None:
    e = engine()
    e.apply(on_queue("b", "INTERACTING", 1000), 1000)
    assert e.apply(Observation("b", "s1", media=Media((), ("voice",), 1500)), 1500) == []


def test_missing_base_codes_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ACW"):
        StateMap({k: v for k, v in CODES.items() if k != "ACW"})


def test_flickers_below_the_minimum_are_suppressed() -> None:
    e = engine(min_state_ms=3000)
    e.apply(on_queue("a", "IDLE", 0), 0)
    assert e.apply(on_queue("a", "NOT_RESPONDING", 1000), 1000) == []  # held back
    assert e.apply(on_queue("a", "IDLE", 2000), 2000) == []  # back before 3 s: a flicker
    assert e.tick(10_000) == []
    assert e.stats["suppressed"] == 1
    assert e.apply(on_queue("a", "INTERACTING", 20_000), 20_500) == []
    assert e.tick(22_000) == []
    [c] = e.tick(23_000)  # lasted 3 s: released with its true start time
    assert (c.view.state, c.view.since_ms, c.previous.state) == ("INTERACTING", 20_000, "IDLE")  # type: ignore[union-attr]


def test_late_event_older_than_the_minimum_goes_out_at_once() -> None:
    e = engine(min_state_ms=3000)
    e.apply(on_queue("a", "IDLE", 0), 0)
    [c] = e.apply(on_queue("a", "INTERACTING", 1000), 9000)
    assert c.view.state == "INTERACTING"


def test_combined_blend_takes_the_highest_priority_source() -> None:
    e = engine(blend="combined")
    [c] = e.apply(presence("a", "AVAILABLE", 1000, source="emea"), 1000)
    assert (c.view.source, c.view.state) == ("", "AVAILABLE")
    [c] = e.apply(on_queue("a", "INTERACTING", 2000, source="apac"), 2000)
    assert c.view.state == "INTERACTING"
    assert e.apply(presence("a", "BREAK", 3000, source="emea"), 3000) == []  # still interacting
    [c] = e.apply(on_queue("a", "IDLE", 4000, source="apac"), 4000)
    assert c.view.state == "IDLE"
    assert [v.agent for v in e.snapshot()] == ["a"]


def test_per_source_blend_keeps_one_line_per_source() -> None:
    e = engine(blend="per-source")
    e.apply(presence("a", "AVAILABLE", 1000, source="emea"), 1000)
    e.apply(on_queue("a", "IDLE", 1000, source="apac"), 1000)
    assert [(v.source, v.state) for v in e.snapshot()] == [("apac", "IDLE"), ("emea", "AVAILABLE")]


def test_removed_agent_is_logged_out_once_and_forgotten() -> None:
    e = engine()
    e.apply(on_queue("a", "IDLE", 1000), 1000)
    [c] = e.remove("a", "s1", 5000)
    assert c.removed and c.view.state == "OFFLINE" and c.previous.state == "IDLE"  # type: ignore[union-attr]
    assert e.snapshot() == [] and e.remove("a", "s1", 6000) == []


def test_combined_removal_falls_back_to_the_other_source() -> None:
    e = engine(blend="combined")
    e.apply(presence("a", "BREAK", 1000, source="emea"), 1000)
    e.apply(on_queue("a", "IDLE", 1000, source="apac"), 1000)
    [c] = e.remove("a", "apac", 2000)
    assert not c.removed and c.view.state == "BREAK"


def test_state_counts_follow_changes_holds_and_removals() -> None:
    from collections import Counter

    e = engine(min_state_ms=500)
    e.apply(on_queue("a", "IDLE", 1000), 1000)
    e.apply(on_queue("b", "INTERACTING", 1000), 1000)
    e.apply(on_queue("a", "INTERACTING", 2000), 2000)  # held back as a possible flicker
    e.tick(3000)
    e.apply(presence("c", "BREAK", 3000), 3000)
    e.remove("b", "s1", 4000)
    assert e.by_state() == dict(Counter(v.state for v in e.snapshot())) == {
        "INTERACTING": 1, "BREAK": 1}
    restored = engine()
    restored.apply_all(e.observations(), 5000)
    assert [v.state for v in restored.snapshot()] == [v.state for v in e.snapshot()]


def test_a_renamed_agent_is_logged_out_under_the_old_id_once() -> None:
    """The relay keys agents by Genesys user id; each destination names them its way. When a
    user's WFM id changes (a new username), the WFM forgets the old id with one logout."""
    from tests.rta.harness import layout
    from wfmcli.genesys.auth import Credential
    from wfmcli.reports.profiles import load_profile
    from wfmcli.rta.model import Change
    from wfmcli.rta.service import Relay, RelaySettings, SinkSpec
    from wfmcli.rta.source import SourceConfig

    rta = load_profile("verint").rta
    assert rta is not None
    source = SourceConfig("lab", "http://127.0.0.1:9", "http://127.0.0.1:9",
                          [Credential("x", "y")], "Agent")
    relay = Relay(RelaySettings("lab/verint", layout("verint"), dict(rta.state_map), [source],
                                [SinkSpec("stdout")]))
    seen: list[Change] = []

    class Listener:
        def on_changes(self, changes: list[Change]) -> None:
            seen.extend(changes)

        def on_link(self, status: str) -> None:
            """Not needed here."""

    relay.feed.add_listener(Listener())  # type: ignore[arg-type]
    key = relay.sources[0].config.agent_key
    assert key is not None
    assert key({"id": "u1", "username": "ada"}) == "u1"
    relay._apply([Observation("u1", "lab", Presence("ON_QUEUE", None, 1000),
                              Routing("IDLE", 1000))])
    assert [c.view.agent for c in seen] == ["ada"]
    assert key({"id": "u1", "username": "ada.k"}) == "u1"
    assert [(c.view.agent, c.removed) for c in seen[1:]] == [("ada", True)]
    assert relay.engine.view("ada", "lab") is None
    assert key({"id": "u2"}) is None  # no username: no id for this destination


@pytest.mark.parametrize("blend", ["per-source", "combined"])
def test_load_gives_what_apply_all_gives(blend: str) -> None:
    """A restart's saved parts: `load` must leave the engine as `apply_all` would, live parts
    included (those take the ordinary checks)."""
    saved = [on_queue("a", "IDLE", 1000), presence("b", "BREAK", 900, "Lunch"),
             on_queue("c", "INTERACTING", 800, source="s2"), presence("c", "AWAY", 700),
             presence("d", "OFFLINE", 600)]
    live = on_queue("a", "INTERACTING", 2000)
    applied, loaded = engine(blend=blend), engine(blend=blend)
    for e in (applied, loaded):
        e.apply(live, 2000)
    applied.apply_all(saved, 3000)
    loaded.load(saved, 3000)
    assert loaded.snapshot() == applied.snapshot()
    assert loaded.by_state() == applied.by_state()
    assert loaded.agents() == applied.agents() == 4
    assert loaded.apply(on_queue("b", "IDLE", 4000), 4000) == applied.apply(
        on_queue("b", "IDLE", 4000), 4000)
