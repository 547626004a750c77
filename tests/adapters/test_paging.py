"""The four paging conventions, each over real HTTP, and the same refusals from all of them.

One small server pages ten entries three at a time in each vendor's way (Canvas's
``Link`` header, Schoology's ``links.next``, Google's ``nextPageToken``, OneRoster's
``limit``/``offset``) and, when asked, misbehaves: sends the reader back to the first
page, links to another host, or answers with an HTML error page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask, Response, jsonify, request

from connector.adapters.http.paging import BodyLinkPager, LinkHeaderPager, OffsetPager, PageTokenPager
from connector.errors import FatalSourceError
from tests.fakes.server import serve

ENTRIES = [{"id": n} for n in range(10)]
SIZE = 3


def _app() -> Flask:
    app = Flask("pages")
    app.config["mode"] = "normal"

    def page(start: int) -> list[dict[str, int]]:
        return ENTRIES[start:start + SIZE]

    def after(start: int) -> int | None:
        """The next page's start, as this server's mode has it."""
        mode = app.config["mode"]
        if start + SIZE >= len(ENTRIES):
            return 0 if mode == "loop" else None
        return start + SIZE

    def broken() -> Response | None:
        if app.config["mode"] == "html" and request.args.get("start", request.args.get(
                "offset", request.args.get("pageToken", "0"))) not in ("0", ""):
            return Response("<html>Service unavailable</html>", 200, content_type="text/html")
        return None

    def link(url: str) -> str:
        return ("https://elsewhere.example" + url) if app.config["mode"] == "offhost" else url

    @app.get("/canvas")
    def canvas() -> Response:
        start = int(request.args.get("start", 0))
        answer = broken() or jsonify(page(start))
        following = after(start)
        if following is not None:
            answer.headers["Link"] = f'<{link(f"/canvas?start={following}")}>; rel="next"'
        return answer

    @app.get("/schoology")
    def schoology() -> Response:
        start = int(request.args.get("start", 0))
        following = after(start)
        body: dict[str, Any] = {"entry": page(start), "total": len(ENTRIES), "links": {}}
        if following is not None:
            body["links"]["next"] = link(f"/schoology?start={following}&limit={SIZE}")
        return broken() or jsonify(body)

    @app.get("/google")
    def google() -> Response:
        start = int(request.args.get("pageToken") or 0)
        following = after(start)
        body: dict[str, Any] = {"entry": page(start)}
        if following is not None:
            body["nextPageToken"] = str(following) if following else "0"
        return broken() or jsonify(body)

    @app.get("/oneroster")
    def oneroster() -> Response:
        start = int(request.args.get("offset", 0))
        answer = broken() or jsonify({"entry": page(start)})
        answer.headers["X-Total-Count"] = str(len(ENTRIES))
        following = after(start)
        if following is not None and app.config["mode"] in ("loop", "offhost"):
            answer.headers["Link"] = f'<{link(f"/oneroster?offset={following}")}>; rel="next"'
        return answer

    return app


Read = Callable[[requests.Session, str], Iterator[Any]]
READERS: dict[str, Read] = {
    "link header": lambda http, base: LinkHeaderPager(http, system="src", what="entries")
    .entries(f"{base}/canvas", [("per_page", SIZE)]),
    "body link": lambda http, base: BodyLinkPager(http, system="src", what="entries",
                                                  size=SIZE).entries(
        f"{base}/schoology", "entry", {}),
    "page token": lambda http, base: PageTokenPager(http, system="src", what="entries",
                                                    size=SIZE).entries(
        f"{base}/google", "entry", []),
    "offset": lambda http, base: OffsetPager(http, system="src", what="entries",
                                             size=SIZE).entries(f"{base}/oneroster", "entry", {}),
}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Flask, str]]:
    app = _app()
    with serve(app) as base:
        yield app, base


@pytest.fixture
def http(server: tuple[Flask, str]) -> Iterator[requests.Session]:
    server[0].config["mode"] = "normal"
    with requests.Session() as session:
        yield session


@pytest.mark.parametrize("convention", sorted(READERS))
def test_every_page_is_read_once_in_order(convention: str, server: tuple[Flask, str],
                                          http: requests.Session) -> None:
    assert list(READERS[convention](http, server[1])) == ENTRIES


REFUSALS = {
    "loop": "entries: the server's paging does not end (it sent us back to a page we already "
            "read)",
    "offhost": "entries: the next-page link points at another host (elsewhere.example); "
               "refusing to follow it",
    "html": "entries: the server's answer is not JSON (text/html)",
}


# A page token is not a URL: there is no host for it to leave.
@pytest.mark.parametrize(("convention", "mode"), [
    (c, m) for c in sorted(READERS) for m in REFUSALS if (c, m) != ("page token", "offhost")])
def test_every_convention_refuses_the_same_things_in_the_same_words(
        convention: str, mode: str, server: tuple[Flask, str], http: requests.Session) -> None:
    message = REFUSALS[mode]
    app, base = server
    app.config["mode"] = mode
    read: list[Any] = []
    with pytest.raises(FatalSourceError) as caught:
        read.extend(READERS[convention](http, base))
    assert caught.value.message == message
    assert caught.value.context == {"system": "src"}


def test_a_oneroster_page_without_its_collection_is_refused_not_read_as_empty(
        server: tuple[Flask, str], http: requests.Session) -> None:
    # Reading a missing list as empty would delete every record of the collection.
    pager = OffsetPager(http, system="src", what="users", size=SIZE)
    with pytest.raises(FatalSourceError, match="the answer has no 'users' list"):
        list(pager.entries(f"{server[1]}/oneroster", "users", {}))
