"""The twin's objects in Genesys' wire format: camelCase JSON, ISO-8601 UTC timestamps, ms units."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from wfmcli.sim.ledger import OFFLINE_RS, AgentNow
from wfmcli.sim.org import (
    PASCAL_PRESENCE,
    ROUTING_STATUSES,
    SYSTEM_PRESENCES,
    Campaign,
    Division,
    Group,
    Org,
    PresenceDefinition,
    Queue,
    Role,
    User,
)

JSON = dict[str, Any]
CREATED = "2024-01-15T09:00:00.000Z"


def iso(ms: int) -> str:
    """Genesys' timestamp form: `yyyy-MM-ddTHH:mm:ss.mmmZ`."""
    stamp = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def error_body(status: int, code: str, message: str, context_id: str | None = None) -> JSON:
    return {
        "message": message,
        "code": code,
        "status": status,
        "messageWithParams": message,
        "messageParams": {},
        "contextId": context_id or str(uuid.uuid4()),
        "details": [],
        "errors": [],
    }


def page(
    entities: Sequence[Any],
    page_size: int,
    page_number: int,
    path: str,
    params: dict[str, str] | None = None,
    *,
    with_totals: bool = True,
) -> JSON:
    """The paging envelope; queue members omit `total`, `pageCount` and `lastUri`."""
    total = len(entities)
    page_count = max(1, math.ceil(total / page_size)) if total else 0
    start = (page_number - 1) * page_size
    body: JSON = {
        "entities": list(entities[start : start + page_size]),
        "pageSize": page_size,
        "pageNumber": page_number,
    }

    def uri(number: int) -> str:
        query = {**(params or {}), "pageSize": str(page_size), "pageNumber": str(number)}
        return f"{path}?{urlencode(query)}"

    body["firstUri"] = uri(1)
    body["selfUri"] = uri(page_number)
    if start + page_size < total:
        body["nextUri"] = uri(page_number + 1)
    if page_number > 1:
        body["previousUri"] = uri(page_number - 1)
    if with_totals:
        body["total"] = total
        body["pageCount"] = page_count
        body["lastUri"] = uri(max(1, page_count))
    return body


def division_ref(division: Division) -> JSON:
    return {
        "id": division.id,
        "name": division.name,
        "selfUri": f"/api/v2/authorization/divisions/{division.id}",
    }


def division_json(division: Division, object_count: int) -> JSON:
    return {
        **division_ref(division),
        "description": f"{division.name} division",
        "homeDivision": division.home,
        "objectCounts": {"USER": object_count},
    }


def role_json(role: Role, user_count: int) -> JSON:
    return {
        "id": role.id,
        "name": role.name,
        "description": role.description,
        "permissions": ["analytics:userAggregate:view"] if role.licensing else [],
        "permissionPolicies": [],
        "userCount": user_count,
        "default": False,
        "base": False,
        "selfUri": f"/api/v2/authorization/roles/{role.id}",
    }


def routing_status_json(user: User, agent: AgentNow) -> JSON:
    status = (
        "OFF_QUEUE"
        if agent.routing_status == OFFLINE_RS
        else (ROUTING_STATUSES[agent.routing_status])
    )
    return {"userId": user.id, "status": status, "startTime": iso(agent.routing_since)}


def presence_json(org: Org, user: User, agent: AgentNow) -> JSON:
    definition = org.presences[agent.presence_def]
    return {
        "source": "PURECLOUD",
        "sourceId": "",
        "primary": True,
        "presenceDefinition": {
            "id": definition.id,
            "systemPresence": PASCAL_PRESENCE[SYSTEM_PRESENCES[agent.system_presence]],
            "selfUri": f"/api/v2/presencedefinitions/{definition.id}",
        },
        "message": "",
        "modifiedDate": iso(agent.presence_since),
        "selfUri": f"/api/v2/users/{user.id}/presences/purecloud",
    }


_SUMMARY_KEYS = {
    "voice": "call",
    "callback": "callback",
    "email": "email",
    "message": "message",
    "chat": "chat",
}


def conversation_summary_json(user: User, agent: AgentNow) -> JSON:
    summary: JSON = {"userId": user.id}
    for media, key in _SUMMARY_KEYS.items():
        summary[key] = {
            "contactCenter": {"active": agent.active.get(media, 0), "acw": agent.acw.get(media, 0)},
            "enterprise": {"active": 0, "acw": 0},
        }
    summary["socialExpression"] = {
        "contactCenter": {"active": 0, "acw": 0},
        "enterprise": {"active": 0, "acw": 0},
    }
    summary["video"] = {
        "contactCenter": {"active": 0, "acw": 0},
        "enterprise": {"active": 0, "acw": 0},
    }
    return summary


def user_json(org: Org, user: User, agent: AgentNow, expand: set[str]) -> JSON:
    body: JSON = {
        "id": user.id,
        "name": user.name,
        "division": division_ref(user.division),
        "chat": {"jabberId": f"{user.id}@{org.domain}"},
        "email": user.email,
        "primaryContactInfo": [{"address": user.email, "mediaType": "EMAIL", "type": "PRIMARY"}],
        "addresses": [],
        "state": "active",
        "username": user.username,
        "version": 1,
        "acdAutoAnswer": False,
        "employerInfo": {"employeeId": user.employee_id, "employeeType": "Full-time"},
        "selfUri": f"/api/v2/users/{user.id}",
    }
    if "presence" in expand:
        body["presence"] = presence_json(org, user, agent)
    if "routingStatus" in expand:
        body["routingStatus"] = routing_status_json(user, agent)
    if "conversationSummary" in expand:
        body["conversationSummary"] = conversation_summary_json(user, agent)
    if "authorization" in expand:
        roles = [r for r in org.roles if r.id in user.role_ids]
        body["authorization"] = {
            "roles": [{"id": r.id, "name": r.name} for r in roles],
            "permissions": [],
        }
    return body


def user_ref(user: User) -> JSON:
    return {"id": user.id, "name": user.name, "selfUri": f"/api/v2/users/{user.id}"}


def _media_settings(queue: Queue) -> JSON:
    keys = {
        "voice": "call",
        "callback": "callback",
        "chat": "chat",
        "email": "email",
        "message": "message",
    }
    settings: JSON = {}
    for media, key in keys.items():
        own = media == queue.media
        settings[key] = {
            "enableAutoAnswer": False,
            "alertingTimeoutSeconds": queue.alert_timeout_ms // 1000 if own else 8,
            "serviceLevel": {
                "percentage": queue.sl_target if own else 0.8,
                "durationMs": queue.sl_ms if own else 20000,
            },
        }
    return settings


def group_ref(group: Group) -> JSON:
    return {
        "id": group.id,
        "name": group.name,
        "type": "GROUP",
        "selfUri": f"/api/v2/groups/{group.id}",
    }


def group_json(group: Group) -> JSON:
    return {
        **group_ref(group),
        "description": f"{group.name} members",
        "state": "active",
        "memberCount": len(group.member_indexes),
        "visibility": "public",
        "rulesVisible": True,
        "dateModified": CREATED,
        "version": 1,
    }


def queue_json(queue: Queue, joined: int, group: Group | None = None) -> JSON:
    return {
        "id": queue.id,
        "name": queue.name,
        "division": division_ref(queue.division),
        "description": f"{queue.media} queue",
        "dateCreated": CREATED,
        "dateModified": CREATED,
        "modifiedBy": "system",
        "createdBy": "system",
        "memberCount": len(queue.member_indexes),
        "userMemberCount": len(queue.member_indexes),
        "joinedMemberCount": joined,
        "mediaSettings": _media_settings(queue),
        "acwSettings": {"wrapupPrompt": "MANDATORY_TIMEOUT", "timeoutMs": 300000},
        "skillEvaluationMethod": "ALL",
        "memberGroups": [group_ref(group)] if group else [],
        "autoAnswerOnly": False,
        "enableTranscription": False,
        "enableManualAssignment": False,
        "selfUri": f"/api/v2/routing/queues/{queue.id}",
    }


def queue_member_json(
    org: Org, user: User, agent: AgentNow, expand: set[str], member_by: str = "user"
) -> JSON:
    return {
        "id": user.id,
        "name": user.name,
        "user": user_json(org, user, agent, expand),
        "ringNumber": 1,
        "joined": True,
        "memberBy": member_by,
        "routingStatus": routing_status_json(user, agent),
        "selfUri": f"/api/v2/users/{user.id}",
    }


def presence_definition_legacy(definition: PresenceDefinition) -> JSON:
    pascal = PASCAL_PRESENCE[definition.system_presence]
    return {
        "id": definition.id,
        "name": definition.name,
        "languageLabels": {"en_US": definition.name},
        "systemPresence": pascal,
        "deactivated": False,
        "primary": definition.primary,
        "createdDate": CREATED,
        "modifiedDate": CREATED,
        "selfUri": f"/api/v2/presencedefinitions/{definition.id}",
    }


def presence_definition_new(definition: PresenceDefinition, home: Division) -> JSON:
    return {
        "id": definition.id,
        "name": definition.name,
        "type": "System" if definition.primary else "User",
        "languageLabels": {"en_US": definition.name},
        "systemPresence": PASCAL_PRESENCE[definition.system_presence],
        "divisionId": home.id,
        "deactivated": False,
        "selfUri": f"/api/v2/presence/definitions/{definition.id}",
    }


def campaign_json(org: Org, campaign: Campaign) -> JSON:
    body: JSON = {
        "id": campaign.id,
        "name": campaign.name,
        "division": division_ref(campaign.division),
        "contactList": {"id": campaign.contact_list_id},
        "campaignStatus": "on",
        "dateCreated": CREATED,
        "dateModified": CREATED,
        "selfUri": f"/api/v2/outbound/campaigns/{campaign.id}",
    }
    if campaign.queue_index is not None:
        queue = org.queues[campaign.queue_index]
        body["queue"] = {"id": queue.id, "name": queue.name}
        body["dialingMode"] = "preview" if campaign.queue_index % 2 else "progressive"
    else:
        body["selfUri"] = f"/api/v2/outbound/messagingcampaigns/{campaign.id}"
        body["type"] = "SMS" if "SMS" in campaign.name else "EMAIL"
    return body
