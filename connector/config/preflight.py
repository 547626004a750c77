"""Checks ``config validate`` makes beyond the schemas: the machine the jobs will run on.

A configuration can be well formed and still fail at 2:30 in the morning: a
variable not exported in the service's environment, a drop folder that was
never created, a crosswalk path with a typo. These checks look at the machine
as the run will see it, and say what is wrong without ever printing a value:
a variable is named, never shown.

A problem in something a job uses is an error; one in something no job uses
(a source kept for later, the API tokens when the API is not served from
here) is a warning, so that ``config validate`` on a working district is clean.
"""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from marshmallow import Schema, fields

from connector.adapters.options import PathOption
from connector.adapters.registry import destination_class, source_class
from connector.config.model import Settings

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a YAML structure with its key path (``sources[2].sftp.password``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def unset_variables(text: str) -> list[str]:
    """Variables ``text`` refers to without a default that the environment does not set.

    >>> import os; os.environ.pop("NOPE_1", None)
    >>> unset_variables("${NOPE_1}/x ${NOPE_2:-y}")
    ['NOPE_1']
    """
    return [m.group(1) for m in _REF.finditer(text)
            if m.group(2) is None and not os.environ.get(m.group(1))]


def used_by_jobs(settings: Settings) -> dict[str, set[str]]:
    """The keys of sources, destinations and frameworks some job uses."""
    used: dict[str, set[str]] = {"sources": set(), "destinations": set(), "frameworks": set()}
    for job in settings.jobs.values():
        used["sources"].update(job.sources)
        used["destinations"].update(job.destinations)
        used["frameworks"].update(job.frameworks)
    return used


#: (file, problem key path, message, severity)
Finding = tuple[str, str, str, str]


def environment(raw: Mapping[str, Any], settings: Settings, district: str) -> list[Finding]:
    """Every ``${VAR}`` the configuration needs that is not set, named, never shown."""
    used = used_by_jobs(settings)
    found: list[Finding] = []
    for name, data in raw.items():
        label = f"{district}/{name}"
        for path, text in _strings(data):
            for variable in unset_variables(text):
                what, severity = _whose(name, path, data, used)
                found.append((label, path, f"environment variable {variable} is not set; "
                              f"{what} needs it", severity))
    return found


def _whose(file: str, path: str, data: Any, used: Mapping[str, set[str]]) -> tuple[str, str]:
    """Who needs a value at ``path``, and whether that makes a missing value an error."""
    match = re.match(r"^(sources|destinations|frameworks)\[(\d+)\]", path)
    if match:
        section, index = match.group(1), int(match.group(2))
        entries = data.get(section) if isinstance(data, Mapping) else None
        entry = entries[index] if isinstance(entries, list) and index < len(entries) else {}
        key = entry.get("key", "?") if isinstance(entry, Mapping) else "?"
        noun = section[:-1]
        if key in used[section]:
            return f"{noun} {key!r}", "error"
        return f"{noun} {key!r} (which no job uses yet)", "warning"
    if path.startswith("district.api_"):
        return "the JSON API ('connector serve')", "warning"
    if path.startswith("transcript.credential."):
        return "signed transcript credentials (`transcripts export --format clr`)", "warning"
    if path.startswith("alerts."):
        return "alerting (failures would go unreported)", "error"
    return "the configuration", "error"


def paths(settings: Settings, district: str) -> list[Finding]:
    """Every file and folder a source, destination or framework names, as a run would see it."""
    used = used_by_jobs(settings)
    found: list[Finding] = []
    for section, configs, lookup, file in (
            ("sources", settings.sources, source_class, "sources.yaml"),
            ("destinations", settings.destinations, destination_class, "destinations.yaml")):
        for key, config in configs.items():
            severity = "error" if key in used[section] else "warning"
            schema = lookup(config.kind).options_schema()
            for option, kind, value in _path_options(schema, config.options):
                problem = check_path(settings, value, kind)
                if problem:
                    suffix = "" if severity == "error" else f" ({section[:-1]} unused by any job)"
                    found.append((f"{district}/{file}", f"{key}.{option}", problem + suffix,
                                  severity))
    for framework in settings.district.frameworks:
        if framework.location.startswith(("http://", "https://")):
            continue
        problem = check_path(settings, framework.location, "file")
        if problem:
            severity = "error" if framework.key in used["frameworks"] else "warning"
            found.append((f"{district}/district.yaml", f"frameworks.{framework.key}.location",
                          problem, severity))
    return found


def _path_options(schema: Schema, options: Mapping[str, Any],
                  prefix: str = "") -> Iterator[tuple[str, str, str]]:
    for name, field in schema.fields.items():
        value = options.get(name)
        if value is None:
            continue
        if isinstance(field, PathOption) and isinstance(value, str):
            yield f"{prefix}{name}", field.path_kind, value
        elif isinstance(field, fields.Nested) and isinstance(value, Mapping) and \
                isinstance(field.schema, Schema):
            yield from _path_options(field.schema, value, f"{prefix}{name}.")


def check_path(settings: Settings, value: str, kind: str) -> str:
    """What is wrong with a configured path for its use, or "" when it will do."""
    if unset_variables(value):
        return ""  # reported once, as an unset variable
    path = settings.resolve_path(value)
    shown = value if str(path) == value else f"{value} (that is {path})"
    if kind == "out_dir":
        if path.exists():
            if not path.is_dir():
                return f"{shown} is a file; a folder is needed here"
            return "" if os.access(path, os.W_OK | os.X_OK) else \
                f"{shown} cannot be written by this user ({_user()})"
        parent = _existing_parent(path)
        if parent is None or not os.access(parent, os.W_OK | os.X_OK):
            return f"{shown} does not exist and cannot be created here ({_user()})"
        return ""
    if not path.exists():
        return f"{shown} does not exist"
    if kind == "file" and not path.is_file():
        return f"{shown} is a folder; a file is needed here"
    if kind == "dir" and not path.is_dir():
        return f"{shown} is a file; a folder is needed here"
    wanted = os.R_OK | (os.X_OK if path.is_dir() else 0)
    if not os.access(path, wanted):
        return f"{shown} cannot be read by this user ({_user()})"
    return ""


def _existing_parent(path: Path) -> Path | None:
    for parent in path.parents:
        if parent.exists():
            return parent if parent.is_dir() else None
    return None


def _user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())
