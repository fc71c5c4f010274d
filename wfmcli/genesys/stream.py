"""Reading a JSON answer item by item as it arrives, for answers too large to hold decoded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from wfmcli.errors import RemoteError


async def fold_items(
    chunks: AsyncIterator[bytes], prefix: str, add: Callable[[Any], None], *, what: str
) -> None:
    """Each item at `prefix` (ijson's notation: `results.item`) to `add`, in order, as soon as
    it is complete. A body that is not whole, valid JSON raises RemoteError (`what` says whose
    answer) after the items before the fault were added: callers fold into something they can
    discard."""
    import ijson  # type: ignore[import-untyped]  # the C parser (yajl2_c) ships in its wheels

    found = ijson.sendable_list()
    # use_float: numbers as float/int, as json.loads gives them, not Decimal
    parser = ijson.items_coro(found, prefix, use_float=True)
    try:
        async for chunk in chunks:
            parser.send(chunk)
            _drain(found, add)
        parser.close()
    except ijson.JSONError as exc:
        raise RemoteError(f"{what} with a body that is not JSON") from exc
    _drain(found, add)


def _drain(found: list[Any], add: Callable[[Any], None]) -> None:
    for item in found:
        add(item)
    del found[:]
