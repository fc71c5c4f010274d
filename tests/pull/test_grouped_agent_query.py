"""The agent x queue plan: one conversation-aggregate query per window grouped by userId, without
user predicates, gives the same frames as one query per batch of named agents.

The grouped answer also holds users the pull does not cover (unlicensed ones, users of divisions
outside the scope); the assembler must drop them so that the frames, and so the files, do not
change.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tests.pull.conftest import FAST
from wfmcli.genesys.client import CredentialSession, GenesysClient
from wfmcli.pull import PullSpec, assemble, pull
from wfmcli.pull import queries as queries_module
from wfmcli.pull.assemble import AnswerSplitter, ConversationFold, DayAssembler
from wfmcli.pull.directory import load_directory
from wfmcli.pull.queries import (
    Window,
    agent_conversation_body,
    chunks,
    day_windows,
    user_aggregate_body,
)
from wfmcli.pull.run import CONVERSATION_AGGREGATES, USER_AGGREGATES

AGENT_FRAMES = ("agent_interval", "agent_queue_interval")


@contextlib.asynccontextmanager
async def _one_day(
    org: Any, minutes: int
) -> AsyncIterator[tuple[CredentialSession, Window, DayAssembler]]:
    """A session on the org's first credential set and an assembler for its one day."""
    source = org.source()
    async with GenesysClient(
        source.api_url, source.login_url, source.credentials, retry=FAST
    ) as client:
        session = client.session(0)
        directory = await load_directory(
            session, divisions=source.divisions, licensed_role=source.licensed_role
        )
        (window,) = day_windows(org.start, org.end, org.zone)
        media = frozenset(PullSpec("x", org.start, org.end, org.zone).media)
        yield session, window, DayAssembler(window, minutes, directory, media)


def _batched_frames(org: Any, minutes: int, batch: int) -> tuple[dict[str, pd.DataFrame], int]:
    """The old plan, by hand: agent conversation aggregates per batch of named agents.
    Also returns how many users the grouped query answers for that the directory leaves out."""

    async def run() -> tuple[dict[str, pd.DataFrame], int]:
        async with _one_day(org, minutes) as (session, window, assembler):
            ids = [a.user_id for a in assembler.directory.agents]
            for part in chunks(ids, batch):
                body = agent_conversation_body(window, minutes, part)
                answer = await session.post(CONVERSATION_AGGREGATES, json=body)
                fold = ConversationFold([assembler], AnswerSplitter([window]))
                for result in answer["results"]:
                    fold.add(result)
                fold.commit()
                body = user_aggregate_body(window, minutes, part)
                assembler.add_user_aggregates(await session.post(USER_AGGREGATES, json=body))
            grouped = await session.post(
                CONVERSATION_AGGREGATES, json=agent_conversation_body(window, minutes)
            )
            answered = {str(r["group"]["userId"]) for r in grouped["results"]}
            return assembler.frames(AGENT_FRAMES), len(answered - set(ids))

    return asyncio.run(run())


@pytest.mark.parametrize(("agent_hours", "queries"), [(20_000, 1), (200, 6)])
def test_one_grouped_query_gives_the_frames_of_per_batch_queries(
    org_factory, monkeypatch: pytest.MonkeyPatch, agent_hours: int, queries: int
) -> None:
    org = org_factory(11, "Europe/Berlin", pd.Timestamp("2026-06-10").date(), agents=60)
    minutes = 15
    # 200 agent-hours a query at about 45 agents: blocks of 4 h 15 min, 6 for the day
    monkeypatch.setattr(queries_module, "AGENT_HOURS_PER_QUERY", agent_hours)
    spec = PullSpec("lab", org.start, org.end, org.zone, minutes, frames=AGENT_FRAMES)
    grouped = pull(org.source(), spec, retry=FAST)
    # one agent x queue query per block of hours, not one per batch of agents
    assert grouped.requests_by_endpoint[f"POST {CONVERSATION_AGGREGATES}"] == queries
    batched, outsiders = _batched_frames(org, minutes, batch=7)
    assert outsiders > 0, "the grouped answer must hold users the directory leaves out"
    assert grouped.unlicensed_users > 0 and grouped.out_of_division_users > 0
    for name in AGENT_FRAMES:
        assert len(grouped.data[name]) > 20
        pd.testing.assert_frame_equal(grouped.data[name], batched[name], check_exact=True)


def test_an_answer_staged_in_small_steps_or_cut_and_asked_again_folds_the_same(
    org_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staging an answer's rows every few rows gives the frames of folding it whole, and the
    rows of an answer cut half-way (its fold never committed) count nowhere."""
    org = org_factory(11, "Europe/Berlin", pd.Timestamp("2026-06-10").date(), agents=60)
    minutes = 15

    async def frames(stage_rows: int, cut_first: bool) -> dict[str, pd.DataFrame]:
        monkeypatch.setattr(assemble, "STAGE_ROWS", stage_rows)
        async with _one_day(org, minutes) as (session, window, assembler):
            body = agent_conversation_body(window, minutes)
            results = (await session.post(CONVERSATION_AGGREGATES, json=body))["results"]
            if cut_first:
                cut = ConversationFold([assembler], AnswerSplitter([window]))
                for result in results[: len(results) // 2]:
                    cut.add(result)
            fold = ConversationFold([assembler], AnswerSplitter([window]))
            for result in results:
                fold.add(result)
            fold.commit()
            return assembler.frames(AGENT_FRAMES)

    whole = asyncio.run(frames(10**9, cut_first=False))
    stepped = asyncio.run(frames(3, cut_first=True))
    for name in AGENT_FRAMES:
        assert len(whole[name]) > 20
        pd.testing.assert_frame_equal(stepped[name], whole[name], check_exact=True)


def test_blocks_cover_the_window_in_whole_intervals() -> None:
    zone = ZoneInfo("Asia/Kathmandu")
    (window,) = day_windows(
        datetime(2026, 3, 10, tzinfo=zone), datetime(2026, 3, 11, tzinfo=zone), zone
    )
    for agents, minutes, count in [(800, 15, 1), (1800, 15, 3), (20_000, 30, 24), (99_999, 15, 96)]:
        blocks = queries_module.agent_blocks(window, minutes, agents)
        assert len(blocks) == count
        assert blocks[0].start == window.start and blocks[-1].end == window.end
        for left, right in pairwise(blocks):
            assert left.end == right.start
        for block in blocks:
            assert (block.end - block.start) % timedelta(minutes=minutes) == timedelta(0)
