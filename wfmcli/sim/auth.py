"""Client-credentials tokens and the per-token request budget, as Genesys enforces them."""

from __future__ import annotations

import base64
import binascii
import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from wfmcli.sim.org import Credential


@dataclass
class Token:
    value: str
    client_id: str
    expires_at: float
    revoked: bool = False
    hits: deque[float] = field(default_factory=deque)


class OAuthError(Exception):
    """An OAuth-style refusal: `{"error", "description", "error_description"}`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {
            "error": self.error,
            "description": self.description,
            "error_description": self.description,
        }


class TokenInvalid(Exception):
    """A bearer token the API refuses; `code` is the Genesys error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class RateDecision:
    allowed: bool
    count: int
    limit: int
    reset_s: int


class TokenStore:
    def __init__(
        self, credentials: list[Credential], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._secrets = {c.client_id: c.client_secret for c in credentials}
        self._tokens: dict[str, Token] = {}
        self._clock = clock
        self.issued = 0

    def issue(self, authorization: str | None, form: dict[str, str], lifetime_s: int) -> Token:
        client_id, secret = self._basic_credentials(authorization, form)
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "grant type not supported")
        known = self._secrets.get(client_id)
        if known is None:
            raise OAuthError(401, "invalid_client", "client not found")
        if not secrets.compare_digest(known, secret):
            raise OAuthError(401, "invalid_client", "authentication failed")
        token = Token(secrets.token_urlsafe(48), client_id, self._clock() + lifetime_s)
        self._tokens[token.value] = token
        self.issued += 1
        return token

    @staticmethod
    def _basic_credentials(authorization: str | None, form: dict[str, str]) -> tuple[str, str]:
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OAuthError(400, "invalid_request", "malformed basic credentials") from exc
            client_id, sep, secret = decoded.partition(":")
            if sep:
                return client_id, secret
        if "client_id" in form and "client_secret" in form:
            return form["client_id"], form["client_secret"]
        raise OAuthError(401, "invalid_client", "client credentials are required")

    def check(self, authorization: str | None) -> Token:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise TokenInvalid(
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            )
        token = self._tokens.get(authorization[7:].strip())
        if token is None:
            raise TokenInvalid("bad.credentials", "Invalid login credentials.")
        if token.revoked or self._clock() >= token.expires_at:
            raise TokenInvalid("credentials.expired", "The access token has expired.")
        return token

    def expire_all(self, client_id: str | None = None) -> int:
        """Expire every token issued so far, or only `client_id`'s (the early-expiry fault);
        returns how many."""
        live = [
            t
            for t in self._tokens.values()
            if not t.revoked and (client_id is None or t.client_id == client_id)
        ]
        for token in live:
            token.revoked = True
        return len(live)

    def spend(self, token: Token, limit: int) -> RateDecision:
        """Count one request against the token's sliding one-minute window."""
        now = self._clock()
        hits = token.hits
        while hits and hits[0] <= now - 60.0:
            hits.popleft()
        if len(hits) >= limit:
            reset = max(1, math.ceil(hits[0] + 60.0 - now))
            return RateDecision(False, len(hits), limit, reset)
        hits.append(now)
        reset = max(1, math.ceil(hits[0] + 60.0 - now))
        return RateDecision(True, len(hits), limit, reset)
