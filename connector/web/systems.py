"""Sources and destinations: their settings with secrets masked, and "Test connection".

A setting that names a secret shows the environment reference (``${CANVAS_TOKEN}``),
which is what the configuration holds, and whether that variable is set in the
server's environment; never its value. Test connection runs the same preflight as
``connector check`` for that one system: sign in and make one cheap read.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

from flask import abort

from connector.api.access import actor, district_session, needs
from connector.config.secrets import MASK
from connector.domain import roles
from connector.sync.check import check
from connector.web.pages import Form, blueprint, page

log = logging.getLogger(__name__)
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
#: Option names whose literal values are masked even though secrets must be references.
_SECRET_NAMES = re.compile(r"token|secret|password|passphrase|private|api_key|credential", re.I)


def masked(name: str, value: Any) -> Any:
    """A setting as the page may show it: references with whether they are set, no secret.

    >>> masked("token", "${NOPE_NOT_SET_1}")
    '${NOPE_NOT_SET_1} (not set)'
    >>> masked("password", "hunter2")
    '********'
    >>> masked("base_url", "https://canvas.example")
    'https://canvas.example'
    """
    if isinstance(value, Mapping):
        return {k: masked(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(name, v) for v in value]
    if isinstance(value, str):
        refs = _REF.findall(value)
        if refs:
            states = ["set" if os.environ.get(ref) else "not set" for ref in refs]
            told = states[0] if len(refs) == 1 else ", ".join(
                f"{ref} {state}" for ref, state in zip(refs, states, strict=True))
            return f"{value} ({told})"
        if _SECRET_NAMES.search(name):
            return MASK
    return value


def _systems(settings: Any) -> list[dict[str, Any]]:
    shown = [{"what": "source", "key": k, "kind": c.kind, "name": c.name,
              "options": masked("", dict(c.options))} for k, c in settings.sources.items()]
    shown += [{"what": "destination", "key": k, "kind": d.kind, "name": d.name,
               "options": masked("", dict(d.options))} for k, d in settings.destinations.items()]
    return shown


def _page(key: str, settings: Any, results: dict[str, Any] | None = None) -> Any:
    return page("web/systems.html", key, systems=_systems(settings), form=Form(),
                results=results or {})


@blueprint.get("/districts/<key>/console/systems/")
@needs(roles.CONFIG_READ)
def systems(key: str) -> Any:
    """Every source and destination with its settings, secrets masked."""
    settings, _ = district_session(key)
    return _page(key, settings)


@blueprint.post("/districts/<key>/console/systems/<system>/check")
@needs(roles.CONFIG_READ)
def try_connection(key: str, system: str) -> Any:
    """Sign in to one system and make one cheap read, as ``connector check`` does."""
    settings, _ = district_session(key)  # checks the form's CSRF token too
    if system not in settings.sources and system not in settings.destinations:
        abort(404, description=f"no source or destination {system!r}")
    (result,) = check(settings, [system])
    log.info("connection test of %s by %s: %s", system, actor(), "ok" if result.ok else "failed")
    return _page(key, settings, {system: result})
