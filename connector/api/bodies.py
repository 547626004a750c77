"""Reading a JSON request body without letting it hurt the server.

A body is parsed only under a size limit, its nesting is bounded (a body nested
100,000 deep once raised RecursionError, a 500), and no string in it may hold
a control character or run past :data:`MAX_TEXT` characters. Each refusal is a
400 that says what to change.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, request
from marshmallow import Schema, ValidationError

from connector.adapters.messages import sentences
from connector.domain.text import MAX_TEXT, json_text_problem

#: Deeper than any document the API takes (an xAPI statement is under 10 levels).
MAX_DEPTH = 32


def depth(value: Any) -> int:
    """How deeply a decoded JSON value nests (a scalar is 0), without recursion.

    >>> depth(1), depth([]), depth({"a": [1, {"b": 2}]})
    (0, 1, 3)
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in item)
    return deepest


def json_body(*, max_bytes: int, where: str | None = "body", max_text: int = MAX_TEXT) -> Any:
    """The request's JSON, or a 400/413 naming what is wrong with it.

    ``where`` names the body in messages about its text; None leaves the text to a
    validator that names paths the way its specification does (xAPI, Caliper).
    """
    if (request.content_length or 0) > max_bytes:
        abort(413, description=f"request body over {max_bytes} bytes: send smaller batches")
    if request.mimetype != "application/json":
        abort(400, description="Content-Type must be application/json")
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:  # a chunked body has no Content-Length to check first
        abort(413, description=f"request body over {max_bytes} bytes: send smaller batches")
    try:
        body = json.loads(raw)
    except RecursionError:
        abort(400, description=f"the JSON body nests deeper than {MAX_DEPTH} levels")
    except (ValueError, UnicodeDecodeError):
        abort(400, description="the body is not valid JSON")
    if depth(body) > MAX_DEPTH:
        abort(400, description=f"the JSON body nests deeper than {MAX_DEPTH} levels")
    problem = json_text_problem(body, where, max_length=max_text) if where else None
    if problem:
        abort(400, description=problem)
    return body


def load(schema: Schema, *, max_bytes: int) -> dict[str, Any]:
    """The JSON body loaded by ``schema``, or a 400 that names each field and its problem."""
    raw = json_body(max_bytes=max_bytes)
    try:
        loaded: dict[str, Any] = schema.load({} if raw is None else raw)
    except ValidationError as exc:
        abort(400, description=f"invalid request body: {sentences(exc.messages)}")
    return loaded
