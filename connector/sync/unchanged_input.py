"""Do not read a file source again when its files, and what they are matched against, are the same.

A rerun with nothing changed spent three quarters of its time reading, parsing and
hashing rows it had staged before (docs/benchmarks.md). A file source can instead
hash its files, at hundreds of megabytes a second without parsing a row. When that
digest, and everything staging matched the rows against, are what they were at the
end of the source's last complete read, reading again can only find every row
unchanged and refuse the same rows for the same reasons. The runner then repeats
those rejections in this run, so the run still lists every row the files hold that
was refused, and goes on to the next source.

What staging matches a source's rows against (its context):

- the configuration (its version covers every config file and crosswalk) and the
  connector's own code: a new release parses everything again;
- the roster's student identifiers: a score refused for an unknown student may now
  match one;
- the identity links made from the identity queue;
- how many rows of each kind the source has in the store, and the highest id:
  retention or a student's purge removed some, and a read puts back what is still
  in the files, as it always did.

A full read (``--full``, or one a new identity link asked for), the run after one
that did not finish cleanly, and a source without a digest (an API, whose cursor
already says what is new) are read as always. What is remembered is cleared before
a read begins and written only when it ends cleanly, so a read that failed half-way
is read again in full next time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session

import connector
from connector.config.model import Settings
from connector.domain.hashing import content_hash
from connector.persistence import models as m


@cache
def _staged() -> tuple[Any, ...]:
    """Every kind of row a source stages: the models keyed by (source system, sourced id)."""
    return tuple(sorted((mapper.class_ for mapper in m.Base.registry.mappers
                         if issubclass(mapper.class_, m.Sourced)), key=lambda c: c.__name__))


#: The code a staged row depends on: the adapters, the records they build, staging.
_CODE = ("adapters", "domain", "sync/staging.py", "sync/identity_links.py")


@cache
def code_digest() -> str:
    """The connector's version and the source of the code that turns files into rows."""
    digest = hashlib.sha256(connector.__version__.encode())
    root = Path(connector.__file__).parent
    for part in _CODE:
        path = root / part
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def context(session: Session, settings: Settings, key: str) -> str:
    """A digest of what staging matches this source's rows against (see the module)."""
    s = m.Student
    students = session.execute(select(s.id, s.sourced_id, s.username, s.email, s.identifier)
                               .order_by(s.id)).all()
    links = session.execute(select(m.IdentityLink.source, m.IdentityLink.kind,
                                   m.IdentityLink.external_id, m.IdentityLink.student_id)
                            .order_by(m.IdentityLink.id)).all()
    held = [list(session.execute(select(func.count(), func.max(model.id))
                                 .where(model.source_system == key)).one())
            for model in _staged()]
    return content_hash([settings.version, code_digest(), [list(r) for r in students],
                         [list(r) for r in links], held])


def forget(session: Session, key: str) -> None:
    """A read begins: until it ends cleanly, nothing says what the store holds of it."""
    system = _system(session, key)
    if system.last_read:
        system.last_read = {}


def remember(session: Session, settings: Settings, key: str, digest: str, run_id: int,
             streams: Mapping[str, Mapping[str, int]]) -> None:
    """A read of files with this digest ended cleanly in this run: what a skip repeats."""
    rejections = session.scalar(select(func.count()).select_from(m.SyncRejection).where(
        m.SyncRejection.run_id == run_id, m.SyncRejection.source == key)) or 0
    _system(session, key).last_read = {
        "digest": digest, "context": context(session, settings, key), "run": run_id,
        "read_by": run_id,
        "rejections": rejections, "streams": {k: dict(v) for k, v in streams.items()}}


def repeat(session: Session, settings: Settings, key: str, digest: str, run_id: int
           ) -> dict[str, Any] | None:
    """The last read stands for this one: its rejections copied into this run.

    Returns what the last read found (``run``: the run that read the files;
    ``rejections``, ``streams``), or None
    when the source must be read: other files, another context, or the last read's
    rejections no longer all there (retention removed them).
    """
    system = _system(session, key)
    last = dict(system.last_read or {})
    if not last or last.get("digest") != digest or last.get("context") != context(
            session, settings, key):
        return None
    r = m.SyncRejection
    held = session.scalar(select(func.count()).select_from(r).where(
        r.run_id == last["run"], r.source == key)) or 0
    if held != last.get("rejections"):
        return None
    columns = (r.district_id, r.file, r.row, r.field, r.reason, r.record_key, r.source,
               r.subject)
    session.execute(insert(r).from_select(
        ["run_id", *(c.key for c in columns)],
        select(literal(run_id, type_=r.run_id.type), *columns).where(r.run_id == last["run"], r.source == key)
        .order_by(r.id)))
    system.last_read = {**last, "run": run_id}  # the newest run holds them from now on
    return {"run": last.get("read_by", last["run"]), "rejections": held,
            "streams": last.get("streams") or {}}


def unchanged_counts(streams: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """A skipped read's counts: every row the files hold, unchanged or refused again."""
    return {stream: {"read": c.get("read", 0), "inserted": 0, "updated": 0,
                     "unchanged": c.get("read", 0) - c.get("rejected", 0), "deleted": 0,
                     "rejected": c.get("rejected", 0)}
            for stream, c in streams.items()}


def _system(session: Session, key: str) -> m.SourceSystem:
    return session.scalars(select(m.SourceSystem).where(m.SourceSystem.key == key)).one()
