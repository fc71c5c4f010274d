"""Notification REST routes and the WebSocket stream (`connectUri`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import WSMsgType, web

from wfmcli.sim.httputil import TOKEN_KEY, ApiError, json_response
from wfmcli.sim.notify import Channel, Hub, SubscriptionError, heartbeat, pong, socket_closing
from wfmcli.sim.runtime import Runtime
from wfmcli.sim.wire import iso


def _client_id(request: web.Request) -> str:
    return request[TOKEN_KEY].client_id


def channel_json(request: web.Request, hub: Hub, channel: Channel) -> dict[str, Any]:
    return {
        "connectUri": f"ws://{request.host}/channels/{channel.id}",
        "id": channel.id,
        "expires": iso(int(hub.expires_at(channel) * 1000)),
    }


def _topic_json(channel: Channel, topic: str) -> dict[str, Any]:
    return {
        "id": topic,
        "state": "Permitted",
        "selfUri": f"/api/v2/notifications/channels/{channel.id}/subscriptions",
    }


class Sockets:
    """The live WebSockets, one per channel; a second connection replaces the first."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.heartbeat_s = 30.0
        self.closing_grace_s = 1.0
        self.by_channel: dict[str, tuple[web.WebSocketResponse, web.Request]] = {}

    def _channel(self, request: web.Request, channel_id: str | None = None) -> Channel:
        try:
            return self.hub.get(channel_id or request.match_info["channel_id"], _client_id(request))
        except SubscriptionError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None

    async def create(self, request: web.Request) -> web.Response:
        channel = self.hub.create_channel(_client_id(request))
        return json_response(channel_json(request, self.hub, channel))

    async def list_channels(self, request: web.Request) -> web.Response:
        self.hub.expire()
        client = _client_id(request)
        entities = [
            channel_json(request, self.hub, c)
            for c in self.hub.channels.values()
            if c.client_id == client
        ]
        return json_response({"entities": entities})

    async def head(self, request: web.Request) -> web.Response:
        self._channel(request)
        return web.Response(status=200)

    async def get_subscriptions(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        return json_response({"entities": [_topic_json(channel, t) for t in channel.topics]})

    async def subscribe(self, request: web.Request) -> web.Response:
        self._channel(request)  # 404 before reading a body for a channel that is gone
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise ApiError(400, "bad.request", "The request body is not valid JSON") from None
        if not isinstance(body, list) or not all(isinstance(t, dict) and "id" in t for t in body):
            raise ApiError(400, "bad.request", 'Expected a list of {"id": "<topic>"}')
        # Looked up again: the channel may have been evicted while the body arrived.
        channel = self._channel(request)
        try:
            self.hub.subscribe(
                channel, [str(t["id"]) for t in body], replace=request.method == "PUT"
            )
        except SubscriptionError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
        return json_response({"entities": [_topic_json(channel, t) for t in channel.topics]})

    async def unsubscribe(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        try:
            self.hub.unsubscribe_all(channel)
        except SubscriptionError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
        return web.Response(status=204)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        try:
            channel = self.hub.get(request.match_info["channel_id"])
        except SubscriptionError:
            return web.Response(status=404, text="channel not found")
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        previous = self.by_channel.get(channel.id)
        # The new socket owns the channel before the old one is closed, so the outbox is
        # drained by exactly one sender and no event falls between the two.
        self.by_channel[channel.id] = (ws, request)
        wake = asyncio.Event()
        channel.waker = wake.set
        channel.connected = True
        if previous is not None:
            await previous[0].close(code=1000, message=b"another connection took this channel")
        sender = asyncio.create_task(self._send_loop(ws, channel, wake))
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                await self._on_client_message(ws, channel, message.data)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            if self.by_channel.get(channel.id, (None,))[0] is ws:
                del self.by_channel[channel.id]
                channel.connected = False
                channel.waker = None
        return ws

    async def _on_client_message(
        self, ws: web.WebSocketResponse, channel: Channel, data: str
    ) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        if message.get("message") == "ping":
            await ws.send_str(pong())
        elif message.get("message") == "subscribe":
            reply: dict[str, Any] = {"correlationId": message.get("correlationId")}
            try:
                self.hub.subscribe(
                    channel, [str(t) for t in message.get("topics", [])], replace=False
                )
                reply.update(result="200", status="subscribed")
            except SubscriptionError as exc:
                reply.update(result=str(exc.status), status="failed", message=exc.message)
            await ws.send_str(json.dumps(reply))

    async def _send_loop(
        self, ws: web.WebSocketResponse, channel: Channel, wake: asyncio.Event
    ) -> None:
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.heartbeat_s
        while not ws.closed:
            timeout = max(0.0, next_beat - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)
            wake.clear()
            if channel.closed:
                await ws.close(code=1000, message=b"channel expired")
                return
            while channel.outbox and not ws.closed and self._owns(channel, ws):
                text = channel.outbox.popleft()
                try:
                    await ws.send_str(text)
                except ConnectionError:
                    channel.outbox.appendleft(text)  # for the socket that took over, if any
                    return
            if loop.time() >= next_beat:
                await ws.send_str(heartbeat())
                next_beat = loop.time() + self.heartbeat_s

    def _owns(self, channel: Channel, ws: web.WebSocketResponse) -> bool:
        return self.by_channel.get(channel.id, (None,))[0] is ws

    async def drop_all(self, only: str | None = None) -> int:
        """Cut every socket (or channel `only`'s) without a close frame, as a network failure
        would."""
        sockets = [s for c, s in self.by_channel.items() if only in (None, c)]
        for _, request in sockets:
            if request.transport is not None:
                request.transport.abort()
        return len(sockets)

    async def closing_all(self, only: str | None = None) -> int:
        """Send `v2.system.socket_closing`, then close each socket (or channel `only`'s) after
        the grace period."""
        sockets = [ws for c, (ws, _) in self.by_channel.items() if only in (None, c)]
        for ws in sockets:
            with contextlib.suppress(ConnectionError):
                await ws.send_str(socket_closing())
        await asyncio.sleep(self.closing_grace_s)
        for ws in sockets:
            await ws.close(code=1001, message=b"socket closing")
        return len(sockets)


SOCKETS_KEY = web.AppKey("sockets", Sockets)


def add_routes(app: web.Application, runtime: Runtime) -> None:
    sockets = Sockets(runtime.hub)
    app[SOCKETS_KEY] = sockets
    base = "/api/v2/notifications/channels"
    app.router.add_post(base, sockets.create)
    app.router.add_get(base, sockets.list_channels)
    app.router.add_head(base + "/{channel_id}", sockets.head)
    app.router.add_get(base + "/{channel_id}/subscriptions", sockets.get_subscriptions)
    app.router.add_post(base + "/{channel_id}/subscriptions", sockets.subscribe)
    app.router.add_put(base + "/{channel_id}/subscriptions", sockets.subscribe)
    app.router.add_delete(base + "/{channel_id}/subscriptions", sockets.unsubscribe)
    app.router.add_get("/channels/{channel_id}", sockets.stream)
