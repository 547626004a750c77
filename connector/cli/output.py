"""Plain-text tables and JSON for the terminal."""

from __future__ import annotations

import json
import sys
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


class StageProgress:
    """Where a long command is, on stderr: a live line on a terminal, plain lines otherwise.

    stdout stays the command's result (a table, or ``--json`` a script parses). With
    ``--json`` and no terminal there are no plain lines either: ``2>&1 | jq`` must work.
    """

    def __init__(self, *, live: bool | None = None, as_json: bool = False) -> None:
        self.live = sys.stderr.isatty() if live is None else live
        self.silent = as_json and not self.live
        self._stage = ""
        self._width = 0

    def __call__(self, stage: str, done: int | None) -> None:
        if self.silent:
            return
        if not self.live:
            if stage != self._stage:
                click.echo(f"... {stage}", err=True)
            self._stage = stage
            return
        text = f"{stage}: {done:,} records" if done is not None else f"{stage} ..."
        click.echo("\r" + text.ljust(self._width), nl=False, err=True)
        self._width = len(text)
        self._stage = stage

    def close(self) -> None:
        if self.live and self._width:
            click.echo("\r" + " " * self._width + "\r", nl=False, err=True)
            self._width = 0
