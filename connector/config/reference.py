"""The configuration reference: every key of every file, written from the schemas that check it.

District IT configures four YAML files. The schemas that validate them are the
only complete list of what may be written, so the reference is generated from
them and a test keeps ``docs/configuration.md`` equal to what this prints:

    python -m connector.config.reference > docs/configuration.md

Each key gets its type, default, what it means (the schema's ``#:`` comment or
field description) and the value the sample district's configuration gives it.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, fields, missing, validate

from connector.adapters.options import PathOption, SecretRef
from connector.adapters.registry import DESTINATIONS, SOURCES, destination_class, source_class
from connector.config.schemas import DestinationSchema, DistrictFileSchema, JobSchema, SourceSchema

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "districts" / "cedar-ridge"
#: Values longer than this are cut in the table (the sample file has them whole).
_LONG = 60


@dataclass(frozen=True)
class Row:
    key: str
    kind: str
    default: str
    meaning: str
    example: str


def _comments(schema: type[Schema]) -> dict[str, str]:
    """The ``#:`` comment above each field, from the class and its bases."""
    found: dict[str, str] = {}
    for cls in reversed(schema.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, Schema)) or cls is Schema:
            continue
        try:
            lines = inspect.getsource(cls).splitlines()
        except (OSError, TypeError):
            continue
        pending: list[str] = []
        for line in lines:
            text = line.strip()
            if text.startswith("#:"):
                pending.append(text[2:].strip())
                continue
            match = re.match(r"(\w+)\s*=\s*(fields\.|SecretRef|PathOption)", text)
            if match and pending:
                found[match.group(1)] = " ".join(pending)
            if text:
                pending = []
    return found


def _kind(field: fields.Field) -> str:
    if isinstance(field, SecretRef):
        return "secret (`${ENV_VAR}`)"
    if isinstance(field, PathOption):
        return "path"
    if isinstance(field, fields.Nested):
        return "list of sections" if field.many else "section"
    if isinstance(field, fields.List):
        inner = field.inner
        return "list of sections" if isinstance(inner, fields.Nested) else f"list of {_kind(inner)}"
    if isinstance(field, fields.Dict):
        values = field.value_field
        return f"mapping to {_kind(values)}" if values is not None else "mapping"
    names = {fields.Url: "URL", fields.Boolean: "true / false", fields.Integer: "integer",
             fields.Float: "number", fields.String: "text", fields.Raw: "any"}
    for cls, name in names.items():
        if isinstance(field, cls):
            return name + _limits(field)
    return type(field).__name__.lower()


def _limits(field: fields.Field) -> str:
    for check in field.validators:
        if isinstance(check, validate.OneOf):
            return ": " + " \\| ".join(f"`{c}`" for c in check.choices)
        if isinstance(check, validate.Range):
            low = "" if check.min is None else f"{check.min:g}"
            high = "" if check.max is None else f"{check.max:g}"
            return f", {low}..{high}"
    return ""


def _default(field: fields.Field) -> str:
    if field.required:
        return "required"
    value = field.load_default
    if value is missing or isinstance(field, fields.Nested):
        return ""
    if callable(value):
        value = value()
    return "" if value is None else _show(value)


def _show(value: Any) -> str:
    if isinstance(value, frozenset | set | tuple):
        value = sorted(value)
    text = json.dumps(value, default=str, ensure_ascii=False)
    text = text if len(text) <= _LONG else text[:_LONG - 1] + "…"
    return "`" + text.replace("|", "\\|") + "`"


def _example(sample: Any, path: list[str]) -> str:
    value = sample
    for part in path:
        if isinstance(value, list):
            value = value[0] if value and isinstance(value[0], Mapping) else None
        if not isinstance(value, Mapping) or part not in value:
            return ""
        value = value[part]
    return _show(value)


def rows(schema: Schema, sample: Any = None, prefix: tuple[str, ...] = ()) -> Iterator[Row]:
    """Every key of ``schema``, nested sections after their parent, in declaration order."""
    meanings = _comments(type(schema))
    for name, field in schema.fields.items():
        path = (*prefix, field.data_key or name)
        meaning = str(field.metadata.get("description") or meanings.get(name, ""))
        yield Row(".".join(path), _kind(field), _default(field), meaning.replace("|", "\\|"),
                  "" if isinstance(field, fields.Nested) else _example(sample, list(path)))
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested) and isinstance(inner.schema, Schema):
            listed = field is not inner or inner.many  # a list of sections: key[].child
            yield from rows(inner.schema, sample,
                            (*path[:-1], path[-1] + "[]") if listed else path)
        elif isinstance(field, fields.Dict) and isinstance(field.value_field, fields.Nested):
            nested = field.value_field.schema
            if isinstance(nested, Schema):
                yield from rows(nested, None, (*path, "<name>"))


def _table(found: Iterator[Row]) -> str:
    lines = ["| Key | Type | Default | Meaning | Sample district |", "|---|---|---|---|---|"]
    lines += [f"| `{r.key}` | {r.kind} | {r.default} | {r.meaning} | {r.example} |" for r in found]
    return "\n".join(lines)


def _load(name: str) -> Any:
    path = SAMPLE / name
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}


def render() -> str:
    """The whole reference as Markdown."""
    district, sources, destinations, jobs = (_load(f) for f in (
        "district.yaml", "sources.yaml", "destinations.yaml", "jobs.yaml"))
    by_kind: dict[str, Any] = {}
    for entry in sources.get("sources") or []:
        by_kind.setdefault(entry.get("kind"), entry)
    out_kind: dict[str, Any] = {}
    for entry in destinations.get("destinations") or []:
        out_kind.setdefault(entry.get("kind"), entry)
    parts = [
        "# Configuration reference",
        "",
        "Every key of the four files under `config/districts/<district>/`, written from the "
        "schemas that check them (`python -m connector.config.reference > "
        "docs/configuration.md`; a test keeps this file current). The last column shows the "
        "value the sample district, Cedar Ridge, gives a key. `connector config validate` "
        "checks a configuration against exactly these rules, naming the file and key of every "
        "problem.",
        "",
        "## district.yaml",
        "",
        _table(rows(DistrictFileSchema(), district)),
        "",
        "## sources.yaml",
        "",
        "A list under `sources:`. Every source has the common keys; the rest depend on its "
        "`kind`.",
        "",
        "### Common keys",
        "",
        _table(rows(SourceSchema(), (sources.get("sources") or [{}])[0])),
    ]
    for kind in sorted(SOURCES):
        parts += ["", f"### kind: {kind}", "",
                  _table(rows(source_class(kind).options_schema(), by_kind.get(kind)))]
    parts += ["", "## destinations.yaml", "", "A list under `destinations:`.", "",
              "### Common keys", "",
              _table(rows(DestinationSchema(), (destinations.get("destinations") or [{}])[0]))]
    for kind in sorted(DESTINATIONS):
        parts += ["", f"### kind: {kind}", "",
                  _table(rows(destination_class(kind).options_schema(), out_kind.get(kind)))]
    parts += ["", "## jobs.yaml", "", "A list under `jobs:`.", "",
              _table(rows(JobSchema(), (jobs.get("jobs") or [{}])[0])), ""]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
