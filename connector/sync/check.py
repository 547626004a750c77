"""``connector check``: try every source, destination and framework provider before a run does.

In the spirit of ``dbt debug``: for each configured system, sign in and make
one cheap read, and say in a sentence what came back, or what the vendor
said when it refused. A check asks once (no retries): an IT lead at the
keyboard wants the answer now, not after a night of backoff.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.http.client import HttpClient, RetryPolicy, json_object
from connector.adapters.registry import destination_class, source_class
from connector.config.model import FrameworkSource, Settings
from connector.config.secrets import resolve_secret
from connector.errors import ConfigurationError, ConnectorError
from connector.logging_setup import redact
from connector.sync.intake import stored_events
from connector.sync.util import adapter_context

#: A check gives a host this long to answer.
TIMEOUT = 15.0


@dataclass(frozen=True)
class CheckResult:
    what: str  # source | destination | framework
    key: str
    kind: str
    ok: bool
    message: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check(settings: Settings, keys: Iterable[str] = (), *,
          factory: sessionmaker[Session] | None = None,
          district_id: int | None = None) -> list[CheckResult]:
    """Check the named sources, destinations and frameworks (all of them when none are named)."""
    wanted = list(keys)
    known = {*settings.sources, *settings.destinations,
             *(f.key for f in settings.district.frameworks)}
    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise ConfigurationError(f"nothing is configured under {', '.join(map(repr, unknown))}; "
                                 f"sources, destinations and frameworks are "
                                 f"{', '.join(sorted(known))}")
    events = (partial(stored_events, factory, district_id)
              if factory is not None and district_id is not None else None)
    results = []
    for key, config in settings.sources.items():
        if not wanted or key in wanted:
            adapter = source_class(config.kind)(key, _once(config.options),
                                                adapter_context(settings, events=events))
            results.append(_try("source", key, config.kind, adapter.check))
    for key, dest in settings.destinations.items():
        if not wanted or key in wanted:
            target = destination_class(dest.kind)(key, _once(dest.options),
                                                  adapter_context(settings))
            results.append(_try("destination", key, dest.kind, target.check))
    for framework in settings.district.frameworks:
        if not wanted or framework.key in wanted:
            kind = "CASE provider" if framework.location.startswith(("http://", "https://")) \
                else "CASE file"
            results.append(_try("framework", framework.key, kind,
                                partial(_framework, settings, framework)))
    return results


def _once(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options with one attempt and a short timeout, where the adapter takes them."""
    changed = dict(options)
    if "retries" in changed:
        changed["retries"] = 1
    if "timeout" in changed:
        changed["timeout"] = min(float(changed["timeout"]), TIMEOUT)
    return changed


def _try(what: str, key: str, kind: str, call: Any) -> CheckResult:
    started = time.perf_counter()
    try:
        message, ok = str(call()), True
    except ConnectorError as exc:
        message, ok = exc.message, False
    except LookupError as exc:  # the adapter needs something only a run gives it
        message, ok = str(exc), False
    except Exception as exc:  # a check reports; it never crashes the command
        message, ok = f"unexpected {type(exc).__name__}: {exc}", False
    return CheckResult(what, key, kind, ok, redact(message),
                       round(time.perf_counter() - started, 2))


def _framework(settings: Settings, framework: FrameworkSource) -> str:
    """A CASE provider's document list (getAllCFDocuments), or the package file on disk."""
    location = framework.location
    if not location.startswith(("http://", "https://")):
        path = settings.resolve_path(location)
        if not path.is_file():
            raise ConfigurationError(f"CASE package not found: {path}")
        return f"the package file can be read ({path.stat().st_size} bytes)"
    root, found, rest = location.partition("/ims/case/")
    token = resolve_secret(framework.token, purpose=f"framework {framework.key} token") \
        if framework.token else None
    http = HttpClient(f"CASE provider of framework {framework.key!r}", token=token,
                      timeout=TIMEOUT, retry=RetryPolicy(attempts=1))
    try:
        if not found:  # a package at a plain URL: fetch it, as a run would
            http.get(location)
            return "the package URL answers"
        version = rest.split("/", 1)[0]
        answer = http.get(f"{root}/ims/case/{version}/CFDocuments",
                          headers={"Accept": "application/json"})
        documents = json_object(answer, system="CASE provider", what="CFDocuments")
    finally:
        http.session.close()
    listed = documents.get("CFDocuments") or []
    wanted = rest.rstrip("/").rsplit("/", 1)[-1]
    ids = {d.get("identifier") for d in listed if isinstance(d, Mapping)}
    there = "this framework's package is among them" if wanted in ids else \
        f"none is {wanted} (the package this framework names)"
    return f"the provider lists {len(listed)} framework document(s); {there}"
