"""Measure the sizes the request projection depends on, the way the pull itself sees the org."""

from __future__ import annotations

from collections.abc import Sequence

from wfmcli.genesys.client import CredentialSession
from wfmcli.genesys.paging import iter_entities
from wfmcli.ops.projection import OrgSizes
from wfmcli.pull.directory import Directory, load_directory
from wfmcli.pull.queries import queue_queries


def sizes_from_directory(directory: Directory, credential_sets: int, divisions: int) -> OrgSizes:
    agents = len(directory.agents)
    return OrgSizes(
        credential_sets=credential_sets,
        agents=agents,
        queues=len(directory.queues),
        queue_queries=len(queue_queries(directory.queues)),
        org_users=agents + directory.unlicensed_users + directory.out_of_division_users,
        org_queues=len(directory.queues) + directory.out_of_division_queues,
        divisions=divisions,
        role_holders=agents + directory.out_of_division_users,
    )


async def measure_sizes(
    session: CredentialSession,
    *,
    credential_sets: int,
    divisions: Sequence[str],
    licensed_role: str,
) -> OrgSizes:
    """Reads the directory as the pull does (same requests) and counts what it found."""
    directory = await load_directory(session, divisions=divisions, licensed_role=licensed_role)
    visible = [d async for d in iter_entities(session, "/api/v2/authorization/divisions")]
    return sizes_from_directory(directory, credential_sets, len(visible))
