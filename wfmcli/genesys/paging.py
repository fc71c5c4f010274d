"""Walk Genesys listings: page-number envelopes, `nextUri` chains and analytics cursors.

Each walker stops on the listing's own end marker and refuses to loop: a repeated `nextUri` or
cursor, a page number the server did not honour, or more than `max_pages` pages is a RemoteError
instead of an endless pull.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from wfmcli.errors import RemoteError
from wfmcli.genesys.client import CredentialSession, Params

DEFAULT_MAX_PAGES = 10_000


def _entities(page: Any, key: str, what: str) -> list[Any]:
    if not isinstance(page, dict):
        raise RemoteError(f"Genesys Cloud {what} answered a page that is not a JSON object")
    items = page.get(key) or []
    if not isinstance(items, list):
        raise RemoteError(f"Genesys Cloud {what} answered {key!r} that is not a list")
    return items


async def iter_pages(
    session: CredentialSession,
    path: str,
    *,
    params: Params | None = None,
    page_size: int = 100,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[dict[str, Any]]:
    """Pages of a `{entities, pageNumber, pageSize, pageCount?, nextUri?}` listing.

    The last page is the one at `pageCount`, or, for listings without a total (queue members),
    the one without `nextUri`; an empty page ends the walk too.
    """
    what = f"GET {path}"
    for number in range(1, max_pages + 1):
        query = {**(params or {}), "pageSize": page_size, "pageNumber": number}
        page = await session.get(path, params=query)
        entities = _entities(page, "entities", what)
        answered = page.get("pageNumber")
        if answered is not None and int(answered) != number:
            raise RemoteError(
                f"Genesys Cloud {what} answered page {answered} when asked for page {number}"
            )
        yield page
        page_count = page.get("pageCount")
        if not entities:
            return
        if page_count is not None:
            if number >= int(page_count):
                return
        elif not page.get("nextUri"):
            return
    raise RemoteError(f"Genesys Cloud {what} has more than {max_pages} pages; stopped")


async def iter_entities(
    session: CredentialSession,
    path: str,
    *,
    params: Params | None = None,
    page_size: int = 100,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Any]:
    async for page in iter_pages(
        session, path, params=params, page_size=page_size, max_pages=max_pages
    ):
        for entity in page["entities"] or []:
            yield entity


async def iter_next_uri(
    session: CredentialSession,
    path: str,
    *,
    params: Params | None = None,
    key: str = "entities",
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Any]:
    """Items of a listing that links its pages by `nextUri` (cursor listings such as
    `/api/v2/authorization/divisions/query`)."""
    seen: set[str] = set()
    page = await session.get(path, params=params)
    for _ in range(max_pages):
        for item in _entities(page, key, f"GET {path}"):
            yield item
        next_uri = page.get("nextUri")
        if not next_uri:
            return
        if next_uri in seen:
            raise RemoteError(f"Genesys Cloud GET {path} repeated nextUri {next_uri}; stopped")
        seen.add(next_uri)
        page = await session.get(str(next_uri))
    raise RemoteError(f"Genesys Cloud GET {path} has more than {max_pages} pages; stopped")


async def iter_cursor(
    session: CredentialSession,
    path: str,
    *,
    key: str,
    params: Params | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Any]:
    """Items of analytics job results, `{<key>: [...], cursor}` with the cursor passed back as
    `?cursor=`; the last page has no cursor."""
    seen: set[str] = set()
    query: dict[str, Any] = dict(params or {})
    for _ in range(max_pages):
        page = await session.get(path, params=query)
        for item in _entities(page, key, f"GET {path}"):
            yield item
        cursor = page.get("cursor")
        if not cursor:
            return
        if cursor in seen:
            raise RemoteError(f"Genesys Cloud GET {path} repeated a cursor; stopped")
        seen.add(cursor)
        query["cursor"] = cursor
    raise RemoteError(f"Genesys Cloud GET {path} has more than {max_pages} pages; stopped")
