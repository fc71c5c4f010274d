"""Small HTTP helpers shared by the twin's routes: parameters, paging limits, JSON answers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from wfmcli.sim import wire
from wfmcli.sim.auth import Token

TOKEN_KEY = web.RequestKey("wfm_sim_token", Token)
MAX_PAGE = {"users": 500, "members": 100, "default": 500}


class ApiError(Exception):
    """A refusal rendered as the platform error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(body, separators=(",", ":")),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def error_response(
    status: int, code: str, message: str, context_id: str, **headers: str
) -> web.Response:
    return json_response(
        wire.error_body(status, code, message, context_id),
        status,
        {"ININ-Correlation-Id": context_id, **headers},
    )


def list_param(request: web.Request, name: str) -> list[str]:
    """Repeated and comma-joined forms both, as the SDKs send either."""
    values: list[str] = []
    for raw in request.query.getall(name, []):
        values.extend(v for v in raw.split(",") if v)
    return values


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400,
            "bad.request",
            f"Value [{raw}] is not valid for field type [int] for parameter [{name}]",
        ) from None
    if not low <= value <= high:
        raise ApiError(400, "invalid.value", f"{name} must be between {low} and {high}")
    return value


def paging(request: web.Request, limit: str = "default") -> tuple[int, int]:
    size = int_param(request, "pageSize", 25, 1, MAX_PAGE[limit])
    number = int_param(request, "pageNumber", 1, 1, 1_000_000)
    return size, number
