"""`wfm rta preview`: the records a destination's layout makes of a few offline twin agents.

Nothing connects anywhere: a deterministic twin org (wfmcli.sim, no server) gives agents and
their states on a working afternoon; the destination's profile, state map and agent ids turn
them into the exact bytes (or HTTP bodies) the WFM would receive, to hold against the WFM's
interface spec sheet.
"""

from __future__ import annotations

import json
from typing import Any

from wfmcli.config.model import Config
from wfmcli.rta.model import AgentIds, AgentView, Change, Presence, Routing
from wfmcli.rta.records import Encoder, Layout
from wfmcli.rta.settings import agent_ids, layout_of
from wfmcli.rta.sinks.http_push import fill
from wfmcli.rta.statemap import StateMap, derive

PREVIEW_AT_MS = 1_773_154_800_000  # 2026-03-10 15:00 UTC: a working afternoon in the twin
_HIDDEN = "***"


def twin_views(ids: AgentIds, state_map: StateMap, agents: int, seed: int
               ) -> tuple[list[AgentView], int]:
    """(views of the first `agents` licensed twin agents with an id, agents without one)."""
    from wfmcli.sim.engine import ContactCenter
    from wfmcli.sim.ledger import OFFLINE_RS
    from wfmcli.sim.org import ROUTING_STATUSES, SYSTEM_PRESENCES, build_org

    org = build_org(seed=seed, agents=max(agents * 3, 20), queues=3)
    center = ContactCenter(org, PREVIEW_AT_MS)
    center.run_until(PREVIEW_AT_MS)
    views, missing = [], 0
    for user in (u for u in org.users if u.licensed):
        agent = ids.of({"id": user.id, "username": user.username, "email": user.email,
                        "employerInfo": {"employeeId": user.employee_id}})
        if agent is None:
            missing += 1
            continue
        now = center.states.now[user.index]
        definition = org.presences[now.presence_def]
        status = ("OFF_QUEUE" if now.routing_status == OFFLINE_RS
                  else ROUTING_STATUSES[now.routing_status])
        presence = Presence(SYSTEM_PRESENCES[now.system_presence],
                            None if definition.primary else definition.name,
                            PREVIEW_AT_MS - 95_000)
        state, reason, media = derive(presence, Routing(status, PREVIEW_AT_MS - 95_000), None)
        views.append(AgentView(agent, "lab", state, state_map.code(state, reason, media),
                               reason, PREVIEW_AT_MS - 95_000))
        if len(views) == agents:
            break
    return views, missing


def _shown(data: bytes, encoding: str) -> str:
    text = data.decode(encoding)
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        out.append(body.encode("unicode_escape").decode("ascii").replace("\\\\", "\\")
                   + ending.encode("unicode_escape").decode("ascii") + "\n")
    return "".join(out)


def preview_records(config: Config, target: str, *, agents: int = 5, seed: int = 1
                    ) -> dict[str, Any]:
    from wfmcli.reports.profiles import load_profile

    scope_name, _scope, dest_name, destination = config.destination(target)
    profile = load_profile(destination.profile)
    rta = destination.rta
    layout = layout_of(destination.profile, rta)
    assert profile.rta is not None
    state_map = StateMap(profile.rta.state_map, dict(rta.state_map) if rta else {})
    views, missing = twin_views(agent_ids(destination), state_map, agents, seed)
    encoder = Encoder(layout, clock=lambda: PREVIEW_AT_MS)
    encoder.quiet = True  # misfits are listed in the notes, not logged
    if views:
        first = views[0]
        changed = AgentView(first.agent, first.source, "OFFLINE",
                            state_map.code("OFFLINE", "", None), "", PREVIEW_AT_MS)
        change = [Change(changed, first)]
    else:
        change = []
    result: dict[str, Any] = {
        "destination": f"{scope_name}/{dest_name}",
        "profile": destination.profile,
        "framing": layout.framing,
        "encoding": layout.encoding,
        "placeholder_codes": profile.rta.placeholder_codes,
        "agents_without_id": missing,
        "rejected": {},
    }
    if profile.rta.http is not None and layout.framing == "json":
        result["text"] = _http_text(profile.rta.http.body, encoder, views, change)
    else:
        parts = [("link status (starting)", encoder.link("starting")),
                 ("snapshot", encoder.snapshot(views)),
                 ("a change (the first agent logs out)", encoder.changes(change)),
                 ("link status (normal, also the heartbeat)", encoder.link("normal"))]
        result["text"] = "".join(f"# {title}\n{_shown(data, layout.encoding)}"
                                 for title, data in parts if data)
    result["rejected"] = dict(encoder.rejected)
    result["text"] += _notes(result, layout)
    return result


def _http_text(body: Any, encoder: Encoder, views: list[AgentView], change: list[Change]
               ) -> str:
    now = encoder.clock()
    snapshot = [r for c in encoder.snapshot_contexts(views, now)
                if (r := encoder.agent_record(c)) is not None]
    changed = [r for c in encoder.contexts(change, now)
               if (r := encoder.agent_record(c)) is not None]
    values: dict[str, Any] = dict.fromkeys(
        ("api_key", "source_id", "tenant", "client_id", "client_secret", "username", "password"),
        _HIDDEN)
    out = []
    for title, records, is_snapshot in (("snapshot call", snapshot, True),
                                        ("change call", changed, False)):
        filled = fill(body, {**values, "records": records, "is_snapshot": is_snapshot,
                             "count": len(records), "sent_at": "2026-03-10T15:00:00.000+00:00"})
        out.append(f"# {title} (secrets and destination values shown as {_HIDDEN})\n"
                   + json.dumps(filled, indent=2, ensure_ascii=False) + "\n")
    return "".join(out)


def _notes(result: dict[str, Any], layout: Layout) -> str:
    notes = []
    if result["placeholder_codes"]:
        notes.append("the profile's numeric state codes are placeholders: set the WFM's own "
                     "codes in rta.state_map")
    if result["agents_without_id"]:
        notes.append(f"{result['agents_without_id']} twin agents have no id in the agent map "
                     "and are left out")
    for agent, why in sorted(result["rejected"].items()):
        notes.append(f"agent {agent!r} cannot be sent: {why}")
    return "".join(f"# note: {note}\n" for note in notes)
