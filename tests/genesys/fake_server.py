"""A small scripted Genesys stand-in on 127.0.0.1 for fault tests the twin has no knob for.

It speaks the real wire format for what the client tests need (OAuth client credentials, the
paging envelope, the platform error body) and lets a test queue exact answers per path.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLIENT_ID = "fake-client"
CLIENT_SECRET = "fake-secret-value"


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    cut_after: int | None = None  # bytes of the body sent before the connection drops


@dataclass
class Seen:
    method: str
    target: str  # as sent: a path, or an absolute URL when we act as a proxy
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "message": message,
        "code": code,
        "status": status,
        "contextId": str(uuid.uuid4()),
        "details": [],
        "errors": [],
    }


def too_many(retry_after: int = 1) -> Reply:
    return Reply(
        429,
        error_body(
            429,
            "too.many.requests.retry.after",
            f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds",
        ),
        {"Retry-After": str(retry_after)},
    )


Handler = Callable[[Seen], Reply]


def paged(items: list[dict[str, Any]]) -> Handler:
    """Serves `items` in the Genesys paging envelope, honouring pageSize and pageNumber."""

    def handle(seen: Seen) -> Reply:
        size = int(seen.query.get("pageSize", "25"))
        number = int(seen.query.get("pageNumber", "1"))
        chunk = items[(number - 1) * size : number * size]
        page_count = max((len(items) + size - 1) // size, 1)
        body: dict[str, Any] = {
            "entities": chunk,
            "pageSize": size,
            "pageNumber": number,
            "total": len(items),
            "pageCount": page_count,
        }
        if number < page_count:
            body["nextUri"] = f"{seen.path}?pageSize={size}&pageNumber={number + 1}"
        return Reply(200, body)

    return handle


class FakeGenesys:
    def __init__(self, users: int = 0) -> None:
        self.clients = {CLIENT_ID: CLIENT_SECRET}
        self.token_lifetime: float = 86400
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.seen: list[Seen] = []
        self.scripted: dict[str, deque[Reply]] = {}
        self.routes: dict[tuple[str, str], Handler] = {}
        self.users = [
            {"id": str(uuid.UUID(int=i + 1)), "name": f"User {i + 1}", "division": {"id": "d1"}}
            for i in range(users)
        ]
        self.routes[("GET", "/api/v2/users")] = self._users
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGenesys:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, path: str, *replies: Reply) -> None:
        """Answers the next requests to `path` with `replies`, in order, before normal service."""
        self.scripted.setdefault(path, deque()).extend(replies)

    def revoke_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def _users(self, seen: Seen) -> Reply:
        return paged(self.users)(seen)

    def _token(self, seen: Seen) -> Reply:
        self.token_requests += 1
        form = parse_qs(seen.body.decode())
        auth = seen.headers.get("authorization", "")
        if form.get("grant_type") != ["client_credentials"] or not auth.startswith("Basic "):
            return Reply(400, {"error": "invalid_request", "description": "bad grant"})
        client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id not in self.clients:
            return Reply(
                400,
                {
                    "error": "invalid_client",
                    "description": "client not found",
                    "error_description": "client not found",
                },
            )
        if self.clients[client_id] != secret:
            return Reply(
                401,
                {
                    "error": "invalid_client",
                    "description": "authentication failed",
                    "error_description": "authentication failed",
                },
            )
        token = uuid.uuid4().hex
        with self._lock:
            self.tokens.add(token)
        body = {"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime}
        return Reply(200, body)

    def _answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            queue = self.scripted.get(seen.path)
            scripted = queue.popleft() if queue else None
        if scripted is not None:
            return scripted
        if seen.path == "/oauth/token":
            return self._token(seen)
        bearer = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.tokens:
            return Reply(
                401,
                error_body(401, "authentication.required", "No authentication bearer token"),
            )
        handler = self.routes.get((seen.method, seen.path))
        if handler is None:
            return Reply(404, error_body(404, "not.found", f"no route {seen.path}"))
        return handler(seen)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen = Seen(self.command, self.path, parts.path, query, headers, body)
                reply = fake._answer(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("ININ-Correlation-Id", str(uuid.uuid4()))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if reply.cut_after is not None:
                        self.wfile.write(payload[: reply.cut_after])
                        self.close_connection = True
                        return
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = _serve
            do_POST = _serve
            do_PUT = _serve
            do_DELETE = _serve

        return _Handler
