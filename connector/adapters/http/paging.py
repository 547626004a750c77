"""Following a vendor's pages to the end, and never anywhere else.

Every LMS pages its lists, and silently returns one page (Canvas: 10 items) to a
client that does not follow. The pagers here always ask for the largest page the
vendor allows, follow every page, refuse a next-page URL on another host (a
token sent there would leak), and stop with a clear error when the server sends
a page already read (a loop), instead of reading forever.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests

from connector.errors import FatalSourceError

MAX_PAGES = 100_000


def link_pages(http: Any, url: str, params: Mapping[str, Any] | list[tuple[str, Any]],
               *, system: str, what: str) -> Iterator[requests.Response]:
    """Each page of a ``Link: <...>; rel="next"`` list (Canvas, GitHub style), first to last."""
    host = urlsplit(url).netloc
    asked: set[str] = set()
    next_url: str | None = url
    query: Any = params
    while next_url is not None:
        key = next_url if query is None else next_url + "?" + urlencode(
            sorted(query.items()) if isinstance(query, Mapping) else sorted(query), doseq=True)
        if key in asked or len(asked) >= MAX_PAGES:
            raise FatalSourceError(f"{what}: the server's paging does not end (it sent us back "
                                   f"to a page we already read)", system=system)
        asked.add(key)
        response = http.get(next_url, params=query)
        yield response
        link = response.links.get("next", {}).get("url")
        if not link:
            return
        target = urljoin(next_url, link)
        if urlsplit(target).netloc != host:
            raise FatalSourceError(f"{what}: the next-page link points at another host "
                                   f"({urlsplit(target).netloc}); refusing to follow it",
                                   system=system)
        next_url, query = target, None
