"""Following a vendor's pages to the end, and never anywhere else.

Every LMS and SIS API pages its lists, and silently returns one page (Canvas: 10
items) to a client that does not follow. Vendors page four ways, one class each:

- :class:`LinkHeaderPager`: an RFC 8288 ``Link: <...>; rel="next"`` header (Canvas);
- :class:`BodyLinkPager`: a next link in the body, ``links.next`` (Schoology);
- :class:`PageTokenPager`: an opaque ``nextPageToken`` (Google Classroom);
- :class:`OffsetPager`: ``limit``/``offset`` until a short page or ``X-Total-Count``,
  following a ``Link`` header instead when the server sends one (OneRoster 1.2).

All of them share one :class:`PageGuard`, so every source refuses the same things
with the same words: a page already read (a loop would read forever), a next link
on another host (the bearer token would go with it), and a page that is not a
JSON object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlencode, urljoin, urlsplit

import requests

from connector.errors import FatalSourceError

#: More pages than any district's list has: a server that never ends is refused.
MAX_PAGES = 100_000

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]


class Getter(Protocol):
    """What a pager needs of a client: :class:`~connector.adapters.http.client.HttpClient`."""

    def get(self, url: str, **kwargs: Any) -> requests.Response: ...


class PageGuard:
    """The checks every pager applies, with the errors they raise.

    ``system`` names the source in the error (as :class:`FatalSourceError` does
    everywhere); ``what`` names the list being read.
    """

    def __init__(self, url: str, *, system: str, what: str) -> None:
        self.host = urlsplit(url).netloc
        self.system, self.what = system, what
        self.asked: set[str] = set()

    def visit(self, url: str, params: Params | None) -> None:
        """Refuse a request for a page already read, or past :data:`MAX_PAGES`."""
        items = sorted(params.items() if isinstance(params, Mapping) else params or (),
                       key=lambda kv: (str(kv[0]), str(kv[1])))
        key = url + ("?" + urlencode(items, doseq=True) if items else "")
        if key in self.asked or len(self.asked) >= MAX_PAGES:
            raise FatalSourceError(f"{self.what}: the server's paging does not end (it sent us "
                                   f"back to a page we already read)", system=self.system)
        self.asked.add(key)

    def follow(self, base: str, link: str) -> str:
        """The absolute next-page URL, refused when it leaves the first page's host."""
        target = urljoin(base, link)
        host = urlsplit(target).netloc
        if host != self.host:
            raise FatalSourceError(f"{self.what}: the next-page link points at another host "
                                   f"({host}); refusing to follow it", system=self.system)
        return target

    def json(self, response: requests.Response) -> Any:
        """The page's JSON, or an error saying what came instead."""
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type") or "no content type"
            raise FatalSourceError(f"{self.what}: the server's answer is not JSON ({kind})",
                                   system=self.system) from None

    def body(self, response: requests.Response) -> Mapping[str, Any]:
        """The page as a JSON object."""
        payload = self.json(response)
        if not isinstance(payload, Mapping):
            raise FatalSourceError(f"{self.what}: the server's answer is not a JSON object",
                                   system=self.system)
        return payload


def members(payload: Mapping[str, Any], member: str) -> list[Mapping[str, Any]]:
    """The objects listed under ``member``; a lone object counts as a list of one.

    Vendors send an empty list as ``{}``, null or nothing at all (Google Classroom
    leaves the key out), and Schoology's grades wrap one object in another.
    """
    entries = payload.get(member)
    if isinstance(entries, Mapping):
        entries = [entries]
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, Mapping)]


class Pager:
    """A list read through ``http``, page by page, under one :class:`PageGuard`.

    ``size`` is the page size to ask for where the convention takes it as an argument
    (Canvas's ``per_page`` rides in the query instead).
    """

    def __init__(self, http: Getter, *, system: str, what: str, size: int = 0) -> None:
        self.http, self.system, self.what, self.size = http, system, what, size

    def guard(self, url: str) -> PageGuard:
        return PageGuard(url, system=self.system, what=self.what)


class LinkHeaderPager(Pager):
    """Pages linked by the ``Link`` response header, ``rel="next"`` (Canvas)."""

    def entries(self, url: str, params: Params) -> Iterator[Mapping[str, Any]]:
        """The objects of every page, first to last; each page is a JSON array.

        The next link carries the whole query, so it is followed as it is.
        """
        guard = self.guard(url)
        next_url: str | None = url
        query: Params | None = params
        while next_url is not None:
            guard.visit(next_url, query)
            response = self.http.get(next_url, params=query)
            payload = guard.json(response)
            if not isinstance(payload, list):
                raise FatalSourceError(f"{self.what}: the server's answer is not a JSON list",
                                       system=self.system)
            yield from (e for e in payload if isinstance(e, Mapping))
            link = response.links.get("next", {}).get("url")
            next_url = guard.follow(next_url, link) if link else None
            query = None


class BodyLinkPager(Pager):
    """Pages by ``start``/``limit``, following ``links.next`` in the body (Schoology)."""

    def entries(self, url: str, member: str, params: Mapping[str, Any]
                ) -> Iterator[Mapping[str, Any]]:
        guard = self.guard(url)
        next_url: str | None = url
        query: Mapping[str, Any] | None = {**params, "start": 0, "limit": self.size}
        while next_url is not None:
            guard.visit(next_url, query)
            payload = guard.body(self.http.get(next_url, params=query))
            yield from members(payload, member)
            links = payload.get("links")
            link = links.get("next") if isinstance(links, Mapping) else None
            next_url = guard.follow(next_url, str(link)) if link else None
            query = None


class PageTokenPager(Pager):
    """Pages by an opaque ``nextPageToken`` (Google APIs).

    The server may send fewer entries than asked, or none, on a page that is not
    the last: only a missing token ends the list.
    """

    def entries(self, url: str, member: str, params: Sequence[tuple[str, Any]]
                ) -> Iterator[Mapping[str, Any]]:
        guard = self.guard(url)
        token = ""
        while True:
            query = [*params, ("pageSize", self.size)] + ([("pageToken", token)] if token else [])
            guard.visit(url, query)
            payload = guard.body(self.http.get(url, params=query))
            yield from members(payload, member)
            token = str(payload.get("nextPageToken") or "")
            if not token:
                return


class OffsetPager(Pager):
    """Pages by ``limit``/``offset`` (OneRoster 1.2), or by ``Link`` when the server sends it.

    Without links the list ends at an empty or short page, or once ``X-Total-Count``
    entries are read. OneRoster answers every list with an object naming the
    collection; a page without that list is refused, since reading it as empty
    would delete every record of the collection.
    """

    def entries(self, url: str, member: str, params: Mapping[str, Any]
                ) -> Iterator[Mapping[str, Any]]:
        guard = self.guard(url)
        next_url: str | None = url
        query: dict[str, Any] = {**params, "limit": self.size, "offset": 0}
        via_links = False
        while next_url is not None:
            guard.visit(next_url, query)
            response = self.http.get(next_url, params=query)
            payload = guard.body(response)
            if not isinstance(payload.get(member), list):
                raise FatalSourceError(f"{self.what}: the answer has no {member!r} list",
                                       system=self.system)
            items = members(payload, member)
            yield from items
            link = response.links.get("next", {}).get("url")
            if link and items:
                next_url, query, via_links = guard.follow(next_url, link), {}, True
                continue
            total = response.headers.get("X-Total-Count", "")
            offset = int(query.get("offset", 0)) + len(items)
            if via_links or not items or len(items) < self.size or (
                    total.isdigit() and offset >= int(total)):
                return
            query = {**query, "offset": offset}
