"""The fan-out between the state engine and the sinks, and the feed's link status.

The service applies observations to the engine and publishes the resulting changes here in the
same step (no await in between), so a sink that takes a snapshot from the engine and then
listens sees every later change exactly once, in order.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Protocol

from wfmcli.rta.engine import Engine
from wfmcli.rta.model import Change
from wfmcli.rta.records import LinkStatus


class Listener(Protocol):
    def on_changes(self, changes: list[Change]) -> None: ...

    def on_link(self, status: LinkStatus) -> None: ...


class Feed:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ready = asyncio.Event()  # set once the first full resync is in the engine
        self.link: LinkStatus = "unavailable"
        self.stats: Counter[str] = Counter()
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def publish(self, changes: list[Change]) -> None:
        if not changes:
            return
        self.stats["changes"] += len(changes)
        for listener in list(self._listeners):
            listener.on_changes(changes)

    def set_link(self, status: LinkStatus) -> None:
        if status == self.link:
            return
        self.link = status
        for listener in list(self._listeners):
            listener.on_link(status)
