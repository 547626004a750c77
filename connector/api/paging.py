"""List answers in pages (a limit and an opaque cursor), and reads that send ETags.

A cursor is the position after the last row of a page (its ordering key), encoded so
clients pass it back rather than build it: the encoding can change without breaking
anyone. Keyset paging, never OFFSET, so a page is as fast at row 100,000 as at row 1
and rows arriving between pages never repeat one.

Every successful JSON read carries a strong ETag of its body; a client that sends it
back in ``If-None-Match`` gets 304 and no body when nothing changed (the web
application's polling, a district's dashboard).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flask import Response, abort, request

MAX_LIMIT = 500


def limit(default: int = 50) -> int:
    """The ``limit`` query parameter: a whole number from 1 to :data:`MAX_LIMIT`, or 400."""
    given = request.args.get("limit", str(default))
    if not (given.isascii() and given.isdigit() and 1 <= int(given) <= MAX_LIMIT):
        abort(400, description=f"limit: a whole number from 1 to {MAX_LIMIT} "
                               f"(got {given[:20]!r})")
    return int(given)


def encode(position: dict[str, Any]) -> str:
    """An opaque cursor for the position after a page.

    >>> decode_text(encode({"before": 12}))
    {'before': 12}
    """
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_text(cursor: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return position if isinstance(position, dict) else None


def cursor(*keys: str) -> dict[str, Any] | None:
    """The ``cursor`` query parameter decoded (None on the first page), or 400.

    ``keys`` are the members a valid cursor of this list holds, each an integer.
    """
    given = request.args.get("cursor")
    if given is None:
        return None
    position = decode_text(given) if len(given) <= 200 else None
    if position is None or set(position) != set(keys) or not all(
            isinstance(position[k], int) and not isinstance(position[k], bool)
            and 0 <= position[k] <= 2**31 - 1 for k in keys):
        abort(400, description="cursor: not one this API gave (pass next_cursor back as it "
                               "came)")
    return position


def page(rows: list[Any], size: int, position: Any) -> tuple[list[Any], str | None]:
    """A page of ``size`` rows from ``size + 1`` fetched, and the cursor after it, if more.

    ``position`` gives the cursor's members for the page's last row.
    """
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, encode(position(rows[-1]))


def conditional(response: Response) -> Response:
    """An ETag on each successful JSON read, and 304 when the client already has it.

    A district's answers depend on who asks (a teacher sees the teacher's classes) and
    hold students' records: no shared cache may keep them, and a browser revalidates.
    """
    if request.path.startswith("/api/v1/districts/"):
        response.headers.setdefault("Cache-Control", "private, no-cache")
        response.vary.update(("Authorization", "Cookie"))
    if (request.method in ("GET", "HEAD") and response.status_code == 200
            and response.mimetype == "application/json" and not response.direct_passthrough):
        response.add_etag()
        response.make_conditional(request)
    return response
