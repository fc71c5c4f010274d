"""The source's inbox: under overload the latest event per topic wins (plain calls, no I/O)."""

from __future__ import annotations

import json

from wfmcli.genesys.auth import Credential
from wfmcli.genesys.notifications import peek_topic
from wfmcli.rta.model import Observation
from wfmcli.rta.source import GenesysSource, SourceConfig

USER = "0f8fad5b-d9cb-469f-a165-70867728950e"
TOPIC = f"v2.users.{USER}.activity"


def _event(status: str, at: str) -> str:
    body = {"id": USER, "routingStatus": {"status": status, "startTime": at},
            "presence": {"presenceDefinition": {"id": "p", "systemPresence": "ON_QUEUE"},
                         "modifiedDate": "2026-03-10T15:00:00.000Z"}}
    return json.dumps({"topicName": TOPIC, "version": "2", "eventBody": body,
                       "metadata": {"CorrelationId": "c"}}, separators=(",", ":"))


def test_peek_topic_reads_the_topic_without_parsing() -> None:
    assert peek_topic(_event("IDLE", "2026-03-10T15:00:01.000Z")) == TOPIC
    assert peek_topic(_event("IDLE", "2026-03-10T15:00:01.000Z").encode()) == TOPIC
    assert peek_topic('{"eventBody":{},"topicName":"x"}') is None  # not first: parse it


def test_a_backlog_keeps_only_the_latest_state_per_topic() -> None:
    applied: list[list[Observation]] = []
    config = SourceConfig("lab", "http://127.0.0.1:9", "http://127.0.0.1:9",
                          [Credential("a", "b")], "Agent")
    source = GenesysSource(config, applied.append, lambda agent, scope: None, lambda: None)
    source.roster[USER] = "alice"
    for second, status in enumerate(["IDLE", "INTERACTING", "NOT_RESPONDING", "IDLE"]):
        raw = _event(status, f"2026-03-10T15:00:0{second + 1}.000Z")
        source._on_event(str(peek_topic(raw)), raw)
    assert len(source._inbox) == 1
    assert source.stats["events_in"] == 4 and source.stats["coalesced"] == 3
    source._apply_events(list(source._inbox.values()))
    [[observation]] = applied
    assert observation.agent == "alice"
    assert observation.routing is not None and observation.routing.status == "IDLE"
    assert observation.routing.since_ms == 1_773_154_804_000
