"""Plain-text tables and JSON for the terminal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    """Dates and datetimes as ISO 8601 (2025-10-19T06:00:00+00:00), anything else as text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_plain, ensure_ascii=False))
