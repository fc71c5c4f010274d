"""A small hand-built set of canonical frames: two queues, three agents, a few busy intervals."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pandas as pd

from wfmcli import frames
from wfmcli.timegrid import day_grid

QUEUES = {"q-sales": "Sales", "q-support": "Support, 2nd line"}
AGENTS = {
    "u-1": ("ann@example.com", "Ann Lee"),
    "u-2": ("bob@example.com", "Bob Ng"),
    "u-3": ("cy@example.com", "Cy Öz"),
}


def queue_rows(day: date, zone: ZoneInfo) -> pd.DataFrame:
    starts = day_grid(day, zone, 15)
    rows = []
    # traffic in a handful of intervals, including the day's first and last
    for slot, queue_id, media, offered in (
        (0, "q-sales", "voice", 2),
        (36, "q-sales", "voice", 9),
        (36, "q-support", "voice", 4),
        (37, "q-support", "chat", 3),
        (38, "q-sales", "email", 5),
        (len(starts) - 1, "q-support", "voice", 3),
    ):
        abandoned = offered // 3
        answered = offered - abandoned
        rows.append(
            {
                "interval_start": starts[slot],
                "interval_minutes": 15,
                "queue_id": queue_id,
                "queue_name": QUEUES[queue_id],
                "media": media,
                "direction": "inbound",
                "campaign_id": "",
                "offered": offered,
                "answered": answered,
                "abandoned": abandoned,
                "short_abandoned": min(abandoned, 1),
                "answered_in_sl": max(answered - 1, 0),
                "abandoned_in_sl": max(abandoned - 1, 0),
                "flow_out": 0,
                "transferred": 1 if answered > 3 else 0,
                "answer_wait_s": 12.4 * answered,
                "answer_wait_max_s": 31.5,
                "abandon_wait_s": 40.0 * abandoned,
                "abandon_wait_max_s": 75.25,
                "talk_s": 245.5 * answered,
                "talk_count": answered,
                "hold_s": 20.0 * answered,
                "hold_count": answered,
                "acw_s": 30.5 * answered,
                "acw_count": answered,
                "handle_s": 296.0 * answered,
                "handle_count": answered,
                "sl_threshold_s": 20.0,
                "sl_target": 0.8,
            }
        )
    return _typed("queue_interval", rows)


def agent_rows(day: date, zone: ZoneInfo) -> pd.DataFrame:
    starts = day_grid(day, zone, 15)
    rows = []
    for index, (user_id, (agent_id, name)) in enumerate(AGENTS.items()):
        for slot in (36, 37, 38):
            rows.append(
                {
                    "interval_start": starts[slot],
                    "interval_minutes": 15,
                    "user_id": user_id,
                    "agent_id": agent_id,
                    "agent_name": name,
                    "logged_in_s": 900.0,
                    "on_queue_s": 840.0 - 60 * index,
                    "idle_s": 300.0,
                    "interacting_s": 480.0 - 60 * index,
                    "communicating_s": 30.0,
                    "not_responding_s": 30.0,
                    "off_queue_s": 60.0 + 60 * index,
                    **{f"presence_{p}_s": 0.0 for p in frames.SYSTEM_PRESENCES},
                    "presence_break_s": 60.0 + 60 * index,
                    "handled": 2 + index,
                    "talk_s": 400.5,
                    "hold_s": 20.0,
                    "acw_s": 59.5,
                    "handle_s": 480.0,
                    "transferred": index % 2,
                    "outbound_count": index,
                    "outbound_s": 90.0 * index,
                }
            )
    return _typed("agent_interval", rows)


def agent_queue_rows(day: date, zone: ZoneInfo) -> pd.DataFrame:
    starts = day_grid(day, zone, 15)
    rows = []
    for index, (user_id, (agent_id, name)) in enumerate(AGENTS.items()):
        queue_id = "q-sales" if index != 1 else "q-support"
        rows.append(
            {
                "interval_start": starts[36],
                "interval_minutes": 15,
                "user_id": user_id,
                "agent_id": agent_id,
                "agent_name": name,
                "queue_id": queue_id,
                "queue_name": QUEUES[queue_id],
                "media": "voice",
                "direction": "inbound",
                "answered": 2,
                "handled": 2,
                "talk_s": 400.5,
                "hold_s": 20.0,
                "acw_s": 59.5,
                "handle_s": 480.0,
                "transferred": index % 2,
            }
        )
    return _typed("agent_queue_interval", rows)


def status_rows(day: date, zone: ZoneInfo) -> pd.DataFrame:
    starts = day_grid(day, zone, 15)
    rows = []
    for index, (user_id, (agent_id, name)) in enumerate(AGENTS.items()):
        changes = (
            ("AVAILABLE", "", "OFF_QUEUE"),
            ("ON_QUEUE", "", "IDLE"),
            ("ON_QUEUE", "", "INTERACTING"),
            ("BREAK", "Coffee, short" if index == 2 else "", "OFF_QUEUE"),
            ("OFFLINE", "", "OFF_QUEUE"),
        )
        moment = starts[36] + pd.Timedelta(seconds=61.25 + 7 * index)
        for number, (presence, secondary, routing) in enumerate(changes):
            following = moment + pd.Timedelta(minutes=4)
            rows.append(
                {
                    "user_id": user_id,
                    "agent_id": agent_id,
                    "agent_name": name,
                    "start": moment,
                    "end": following if number < len(changes) - 1 else pd.NaT,
                    "system_presence": presence,
                    "secondary_presence": secondary,
                    "routing_status": routing,
                }
            )
            moment = following
    return _typed("agent_status", rows)


def day_frames(day: date, zone_name: str) -> dict[str, pd.DataFrame]:
    zone = ZoneInfo(zone_name)
    return {
        "queue_interval": queue_rows(day, zone),
        "agent_interval": agent_rows(day, zone),
        "agent_queue_interval": agent_queue_rows(day, zone),
        "agent_status": status_rows(day, zone),
    }


def _typed(frame_name: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    df = frames.coerce(frame_name, pd.DataFrame(rows))
    frames.validate(frame_name, df)
    return df
