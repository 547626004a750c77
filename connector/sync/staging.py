"""Stage a batch of canonical records: upsert by natural key, skip what has not changed.

The caller wraps each batch in one transaction. Records that reference
something unknown (a result for a student not on the roster) are rejected here,
with the file and row the adapter read them from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import String, delete, select, update
from sqlalchemy.orm import Session

from connector.adapters.base import Envelope
from connector.domain import records as r
from connector.domain.hashing import content_hash
from connector.errors import Rejection
from connector.persistence import models as m
from connector.persistence.bulk_insert import insert_rows
from connector.sync import identity_links
from connector.sync.util import chunks


@dataclass
class StreamCounts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0

    @property
    def changed(self) -> int:
        return self.inserted + self.updated + self.deleted


@dataclass
class StageResult:
    """What staging did, for the run report and for the steps after it."""

    counts: dict[str, StreamCounts] = field(default_factory=lambda: defaultdict(StreamCounts))
    rejections: list[Rejection] = field(default_factory=list)
    changed_scores: set[int] = field(default_factory=set)
    #: Items whose own fields changed (a new maximum, another class): their scores'
    #: evidence is rebuilt though no score changed.
    changed_items: set[int] = field(default_factory=set)
    deleted_pairs: set[tuple[int, int]] = field(default_factory=set)

    def reject(self, stream: str, rejection: Rejection) -> None:
        self.counts[stream].rejected += 1
        self.rejections.append(rejection)

    def merge(self, other: StageResult) -> None:
        """Add what another batch staged (kept apart until its transaction committed)."""
        for stream, counts in other.counts.items():
            mine = self.counts[stream]
            for name, value in counts.__dict__.items():
                setattr(mine, name, getattr(mine, name) + value)
        self.rejections.extend(other.rejections)
        self.changed_scores |= other.changed_scores
        self.changed_items |= other.changed_items
        self.deleted_pairs |= other.deleted_pairs


STREAMS: dict[type, str] = {
    r.Org: "orgs", r.AcademicSession: "academic_sessions", r.Course: "courses",
    r.ClassSection: "classes", r.Person: "users", r.Demographics: "demographics",
    r.Enrollment: "enrollments", r.Category: "categories", r.SourceItem: "items",
    r.Score: "scores", r.ScoreObjective: "score_objectives",
}


@dataclass
class FirstLoad:
    """Which tables held none of a source's rows when the source's read began.

    There, looking up the stored rows of a batch's keys can only find rows this read
    inserted itself, and a source names each record once per read, so the lookup is
    skipped (it was the largest part of a first load's staging on PostgreSQL). A
    source that does repeat a key fails its batch on the natural key; the runner then
    stages that batch record by record without this, and each record is looked up.
    """

    empty: dict[tuple[type[Any], str], bool] = field(default_factory=dict)

    def holds_none(self, session: Session, model: type[Any], source: str) -> bool:
        known = self.empty.get((model, source))
        if known is None:  # asked before this read wrote any row of ``model``
            known = session.scalar(select(model.id).where(
                model.source_system == source).limit(1)) is None
            self.empty[(model, source)] = known
        return known


_FIRST_LOAD = "staging.first_load"


def stage_batch(session: Session, batch: Sequence[Envelope], result: StageResult,
                first_load: FirstLoad | None = None) -> None:
    """Stage one batch, in dependency order of record types.

    ``first_load`` is kept by the caller for the whole of one source's read.
    """
    groups: dict[type, list[Envelope]] = defaultdict(list)
    for envelope in batch:
        groups[type(envelope.record)].append(envelope)
    session.info[_FIRST_LOAD] = first_load
    try:
        for kind, handler in _HANDLERS:
            if groups.get(kind):
                result.counts[STREAMS[kind]].read += len(groups[kind])
                handler(session, groups[kind], result)
    finally:
        session.info.pop(_FIRST_LOAD, None)


# ---- generic upsert ---------------------------------------------------------------


#: Flags added after rows were first stored: hashed only when set, so a row stored before a
#: flag existed keeps its hash, and the upgrade does not read as every row changed.
HASHED_WHEN_SET = frozenset({"late"})


def _upsert(
    session: Session,
    model: type[Any],
    stream: str,
    rows: Sequence[tuple[Envelope, dict[str, Any]]],
    result: StageResult,
) -> list[tuple[int, dict[str, Any], bool]]:
    """Insert or update rows keyed by (source_system, sourced_id); returns (id, row, changed).

    Set-based: one lookup of the stored ids and hashes per chunk of keys, one bulk
    insert of the new rows (COPY on PostgreSQL), one executemany of the changed ones.
    A key given twice in a batch is stored once, with its last row.

    A row with text longer than its column holds is rejected here, naming the field,
    on both stores: PostgreSQL would refuse it and SQLite would keep it whole.
    """
    counts = result.counts[stream]
    rows = [(e, row) for e, row in rows if _fits(model, stream, e, row, result)]
    by_source: dict[str, list[str]] = defaultdict(list)
    for _, row in rows:
        by_source[row["source_system"]].append(row["sourced_id"])
    stored: dict[tuple[str, str], tuple[int, str]] = {}
    first_load: FirstLoad | None = session.info.get(_FIRST_LOAD)
    for source, ids in by_source.items():
        if first_load is not None and first_load.holds_none(session, model, source):
            continue
        for chunk in chunks(sorted(set(ids))):
            for row_id, sourced_id, digest in session.execute(
                    select(model.id, model.sourced_id, model.content_hash).where(
                        model.source_system == source, model.sourced_id.in_(chunk))):
                stored[(source, sourced_id)] = (row_id, digest)
    new: dict[tuple[str, str], dict[str, Any]] = {}
    changed: dict[int, dict[str, Any]] = {}
    keyed: list[tuple[tuple[str, str], dict[str, Any], bool]] = []
    for _, row in rows:
        row["content_hash"] = content_hash(
            {k: v for k, v in row.items() if k not in HASHED_WHEN_SET or v})
        key = (row["source_system"], row["sourced_id"])
        earlier = new.get(key)  # the same key earlier in this batch
        current = stored.get(key)
        if earlier is not None:
            digest = earlier["content_hash"]
        elif current is not None:
            digest = current[1]
        else:
            new[key] = row
            counts.inserted += 1
            keyed.append((key, row, True))
            continue
        if digest == row["content_hash"]:
            counts.unchanged += 1
            keyed.append((key, row, False))
            continue
        if earlier is not None:
            new[key] = row  # still one insert, with the later row
        elif current is not None:
            changed[current[0]] = row
            stored[key] = (current[0], row["content_hash"])
        counts.updated += 1
        keyed.append((key, row, True))
    inserted = dict(zip(new, insert_rows(session, model, list(new.values()), ids=True),
                        strict=True))
    if changed:
        # ORM bulk UPDATE by primary key: one executemany, under the tenancy guard.
        session.execute(update(model), [{**row, "id": row_id} for row_id, row in changed.items()])
    return [(inserted[key] if key in inserted else stored[key][0], row, flag)
            for key, row, flag in keyed]


def _column_limits(model: type[Any]) -> dict[str, int]:
    """Each length-limited text column of ``model``, and its length."""
    found = _LIMITS.get(model)
    if found is None:
        found = {c.key: int(c.type.length) for c in model.__table__.columns
                 if isinstance(c.type, String) and c.type.length}
        _LIMITS[model] = found
    return found


_LIMITS: dict[type[Any], dict[str, int]] = {}


def _fits(model: type[Any], stream: str, envelope: Envelope, row: dict[str, Any],
          result: StageResult) -> bool:
    limits = _column_limits(model)
    for name, value in row.items():
        limit = limits.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            result.reject(stream, Rejection(
                envelope.file, envelope.row, name,
                f"'{name}' is {len(value)} characters long; at most {limit} fit",
                str(row.get("sourced_id", ""))[:255]))
            return False
    return True


RecordT = TypeVar("RecordT")


def _typed(items: list[Envelope], kind: type[RecordT]) -> list[tuple[Envelope, RecordT]]:
    """The envelopes of one record type, with the record typed for the handler."""
    return [(e, e.record) for e in items if isinstance(e.record, kind)]


def _key(rec: Any) -> dict[str, Any]:
    return {"source_system": rec.source_system, "sourced_id": rec.sourced_id}


# ---- handlers, in dependency order ----------------------------------------------------


def _orgs(session: Session, items: list[Envelope], result: StageResult) -> None:
    _upsert(session, m.Organisation, "orgs", [(e, {
        **_key(rec), "name": rec.name, "type": rec.type,
        "identifier": rec.identifier, "parent_sourced_id": rec.parent_sourced_id,
    }) for e, rec in _typed(items, r.Org)], result)


def _sessions(session: Session, items: list[Envelope], result: StageResult) -> None:
    _upsert(session, m.AcademicSession, "academic_sessions", [(e, {
        **_key(rec), "title": rec.title, "type": rec.type,
        "start_date": rec.start_date, "end_date": rec.end_date,
        "parent_sourced_id": rec.parent_sourced_id, "school_year": rec.school_year,
    }) for e, rec in _typed(items, r.AcademicSession)], result)


def _courses(session: Session, items: list[Envelope], result: StageResult) -> None:
    _upsert(session, m.Course, "courses", [(e, {
        **_key(rec), "title": rec.title, "course_code": rec.course_code,
        "org_sourced_id": rec.org_sourced_id,
        "school_year_sourced_id": rec.school_year_sourced_id,
        "grades": list(rec.grades), "subjects": list(rec.subjects),
    }) for e, rec in _typed(items, r.Course)], result)


def _classes(session: Session, items: list[Envelope], result: StageResult) -> None:
    _upsert(session, m.ClassSection, "classes", [(e, {
        **_key(rec), "title": rec.title,
        "course_sourced_id": rec.course_sourced_id,
        "school_sourced_id": rec.school_sourced_id, "class_code": rec.class_code,
        "term_sourced_ids": list(rec.term_sourced_ids), "subjects": list(rec.subjects),
    }) for e, rec in _typed(items, r.ClassSection)], result)


def _people(session: Session, items: list[Envelope], result: StageResult) -> None:
    people = _typed(items, r.Person)
    _upsert(session, m.Student, "users", [(e, {
        **_key(rec), "given_name": rec.given_name, "family_name": rec.family_name,
        "username": rec.username, "email": rec.email, "identifier": rec.identifier,
        "grade": rec.grades[0] if rec.grades else "",
        "school_sourced_id": rec.org_sourced_ids[0] if rec.org_sourced_ids else "",
        "enabled": rec.enabled,
    }) for e, rec in people if rec.role == "student"], result)
    _upsert(session, m.Staff, "users", [(e, {
        **_key(rec), "role": rec.role, "given_name": rec.given_name,
        "family_name": rec.family_name, "email": rec.email,
    }) for e, rec in people if rec.role != "student"], result)
    _agents(session, [rec for _, rec in people])


def _agents(session: Session, people: Sequence[r.Person]) -> None:
    """Make the stored agent links each person declares equal to its row's agentSourcedIds.

    Only the links a person's own row declared are replaced, so a student's row and
    a guardian's row that both name the link keep it until neither does. A person
    taken off the roster (tobedeleted, disabled) declares none.
    """
    wanted: dict[tuple[str, str], set[str]] = {
        (rec.source_system, rec.sourced_id): set(rec.agents) if rec.enabled else set()
        for rec in people}
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, person in wanted:
        by_source[source].append(person)
    table = m.RosterAgent
    for source, ids in by_source.items():
        for chunk in chunks(ids):
            held: dict[str, dict[str, int]] = defaultdict(dict)
            for row_id, person, agent in session.execute(select(
                    table.id, table.person_sourced_id, table.agent_sourced_id).where(
                    table.source_system == source, table.person_sourced_id.in_(chunk))):
                held[person][agent] = row_id
            stale = [row_id for person in chunk for agent, row_id in held[person].items()
                     if agent not in wanted[(source, person)]]
            for part in chunks(stale):
                session.execute(delete(table).where(table.id.in_(part)))
            insert_rows(session, table, [
                {"source_system": source, "person_sourced_id": person, "agent_sourced_id": agent}
                for person in chunk
                for agent in sorted(wanted[(source, person)] - held[person].keys())])


def _demographics(session: Session, items: list[Envelope], result: StageResult) -> None:
    counts = result.counts["demographics"]
    records = _typed(items, r.Demographics)
    ids = _student_ids(session, "sourced_id", [rec.user_sourced_id for _, rec in records])
    rows = {d.student_id: d for d in session.scalars(select(m.StudentDemographics).where(
        m.StudentDemographics.student_id.in_([i for i in ids.values() if i > 0])))}
    for e, rec in records:
        student_id = ids.get(rec.user_sourced_id, 0)
        if student_id <= 0:
            result.reject("demographics", Rejection(e.file, e.row, "sourcedId",
                          _unknown_student(rec.user_sourced_id, student_id), rec.user_sourced_id))
            continue
        values = {"birth_date": rec.birth_date, "sex": rec.sex, "races": list(rec.races),
                  "hispanic_or_latino": rec.hispanic_or_latino}
        digest = content_hash(values)
        current = rows.get(student_id)
        if current is None:
            session.add(m.StudentDemographics(student_id=student_id, content_hash=digest, **values))
            counts.inserted += 1
        elif current.content_hash != digest:
            for name, value in values.items():
                setattr(current, name, value)
            current.content_hash = digest
            counts.updated += 1
        else:
            counts.unchanged += 1


def _enrollments(session: Session, items: list[Envelope], result: StageResult) -> None:
    typed = _typed(items, r.Enrollment)
    # A delta feed's "tobedeleted" enrollment takes the student out of the class roster.
    gone: dict[str, list[str]] = defaultdict(list)
    for _, rec in typed:
        if rec.deleted:
            gone[rec.source_system].append(rec.sourced_id)
    for source, ids in gone.items():
        for chunk in chunks(ids):
            removed = session.execute(delete(m.Enrollment).where(
                m.Enrollment.source_system == source, m.Enrollment.sourced_id.in_(chunk)))
            result.counts["enrollments"].deleted += int(getattr(removed, "rowcount", 0) or 0)
    _upsert(session, m.Enrollment, "enrollments", [(e, {
        **_key(rec), "class_sourced_id": rec.class_sourced_id,
        "school_sourced_id": rec.school_sourced_id,
        "user_sourced_id": rec.user_sourced_id, "role": rec.role,
        "primary": rec.primary, "begin_date": rec.begin_date,
        "end_date": rec.end_date,
    }) for e, rec in typed if not rec.deleted], result)


def _categories(session: Session, items: list[Envelope], result: StageResult) -> None:
    _upsert(session, m.Category, "categories",
            [(e, {**_key(rec), "title": rec.title}) for e, rec in _typed(items, r.Category)], result)


def _items(session: Session, items: list[Envelope], result: StageResult) -> None:
    typed = _typed(items, r.SourceItem)
    gone = [rec for _, rec in typed if rec.deleted]
    if gone:
        _delete_items(session, gone, result)
    staged = _upsert(session, m.SourceItem, "items", [(e, {
        **_key(rec), "kind": rec.kind, "title": rec.title,
        "description": rec.description, "class_sourced_id": rec.class_sourced_id,
        "category_sourced_id": rec.category_sourced_id,
        "assign_date": rec.assign_date, "due_date": rec.due_date,
        "result_value_min": rec.result_value_min,
        "result_value_max": rec.result_value_max,
        "learning_objectives": [[lo.source, lo.identifier]
                                for lo in rec.learning_objectives],
    }) for e, rec in typed if not rec.deleted], result)
    result.changed_items.update(row_id for row_id, _, changed in staged if changed)


def _delete_items(session: Session, gone: list[r.SourceItem], result: StageResult) -> None:
    """A deleted item takes its scores, their evidence and its alignments with it.

    The (student, competency) pairs that lose evidence are recomputed, so a level
    resting on a deleted assignment does not outlive it.
    """
    ids = list(_ids_by_key(session, m.SourceItem,
                           [(rec.source_system, rec.sourced_id) for rec in gone]).values())
    result.counts["items"].unchanged += len(gone) - len(ids)  # never staged: nothing to do
    for chunk in chunks(ids):
        result.deleted_pairs.update(session.execute(
            select(m.Evidence.student_id, m.Evidence.competency_id).where(
                m.Evidence.source_item_id.in_(chunk))).all())
        scores = select(m.RawScore.id).where(m.RawScore.source_item_id.in_(chunk))
        session.execute(delete(m.Evidence).where(m.Evidence.raw_score_id.in_(scores)))
        session.execute(delete(m.RawScoreObjective).where(
            m.RawScoreObjective.raw_score_id.in_(scores)))
        removed = session.execute(delete(m.RawScore).where(m.RawScore.source_item_id.in_(chunk)))
        result.counts["scores"].deleted += int(getattr(removed, "rowcount", 0) or 0)
        session.execute(delete(m.Alignment).where(m.Alignment.source_item_id.in_(chunk)))
        session.execute(delete(m.SourceItem).where(m.SourceItem.id.in_(chunk)))
    result.counts["items"].deleted += len(ids)


def _scores(session: Session, items: list[Envelope], result: StageResult) -> None:
    scores = _typed(items, r.Score)
    item_ids = _ids_by_key(session, m.SourceItem,
                           [(rec.source_system, rec.item_sourced_id) for _, rec in scores])
    students: dict[tuple[str, str], int] = {}
    by_kind: dict[str, list[str]] = defaultdict(list)
    for _, rec in scores:
        by_kind[rec.student.kind].append(rec.student.value)
    for kind, values in by_kind.items():
        for value, sid in _student_ids(session, kind, values).items():
            students[(kind, value)] = sid
    # Ids the roster does not know may have been linked to a roster student from the
    # identity queue; a link only fills a gap, it never overrides what the roster matches.
    linked = identity_links.student_links(session, {
        (rec.source_system, rec.student.kind, rec.student.value) for _, rec in scores
        if not rec.deleted and students.get((rec.student.kind, rec.student.value), 0) <= 0})
    rows = []
    for e, rec in scores:
        if rec.deleted:  # by its own key: whose it was no longer matters
            _delete_score(session, rec, result)
            continue
        item_id = item_ids.get((rec.source_system, rec.item_sourced_id))
        student_id = students.get((rec.student.kind, rec.student.value), 0)
        if student_id <= 0:
            student_id = linked.get((rec.source_system, rec.student.kind, rec.student.value),
                                    student_id)
        if item_id is None:
            result.reject("scores", Rejection(e.file, e.row, "lineItemSourcedId",
                          f"unknown item {rec.item_sourced_id!r} (not in this source's items)",
                          rec.sourced_id))
            continue
        if student_id <= 0:
            result.reject("scores", Rejection(e.file, e.row, "student",
                          _unknown_student(rec.student.value, student_id, rec.student.kind),
                          rec.sourced_id, subject=f"{rec.student.kind}:{rec.student.value}"))
            continue
        rows.append((e, {
            **_key(rec), "source_item_id": item_id, "student_id": student_id,
            "score": rec.score, "max_score": rec.max_score, "text_score": rec.text_score,
            "status": rec.status, "scored_at": rec.scored_at, "attempt": rec.attempt,
            "submitted_at": rec.submitted_at,
            "comment": rec.comment, "late": rec.late,
        }))
    for row_id, _, changed in _upsert(session, m.RawScore, "scores", rows, result):
        if changed:
            result.changed_scores.add(row_id)


def _delete_score(session: Session, rec: r.Score, result: StageResult) -> None:
    current = session.scalars(select(m.RawScore).where(
        m.RawScore.source_system == rec.source_system,
        m.RawScore.sourced_id == rec.sourced_id)).first()
    if current is None:
        result.counts["scores"].unchanged += 1
        return
    pairs = session.execute(select(m.Evidence.student_id, m.Evidence.competency_id).where(
        m.Evidence.raw_score_id == current.id)).all()
    result.deleted_pairs.update(pairs)
    session.execute(delete(m.Evidence).where(m.Evidence.raw_score_id == current.id))
    session.delete(current)
    result.counts["scores"].deleted += 1


def _score_objectives(session: Session, items: list[Envelope], result: StageResult) -> None:
    objectives = _typed(items, r.ScoreObjective)
    score_ids = _ids_by_key(session, m.RawScore,
                            [(rec.source_system, rec.score_sourced_id) for _, rec in objectives])
    rows = []
    for e, rec in objectives:
        raw_id = score_ids.get((rec.source_system, rec.score_sourced_id))
        if raw_id is None:
            result.reject("score_objectives", Rejection(e.file, e.row, "resultSourcedId",
                          f"unknown result {rec.score_sourced_id!r}", rec.sourced_id))
            continue
        rows.append((e, {
            **_key(rec), "raw_score_id": raw_id,
            "learning_objective_source": rec.learning_objective.source,
            "learning_objective_id": rec.learning_objective.identifier,
            "score": rec.score, "text_score": rec.text_score,
        }))
    for _, row, changed in _upsert(session, m.RawScoreObjective, "score_objectives", rows,
                                   result):
        if changed:
            result.changed_scores.add(row["raw_score_id"])


_HANDLERS: tuple[tuple[type, Callable[[Session, list[Envelope], StageResult], None]], ...] = (
    (r.Org, _orgs), (r.AcademicSession, _sessions), (r.Course, _courses),
    (r.ClassSection, _classes), (r.Person, _people), (r.Demographics, _demographics),
    (r.Enrollment, _enrollments), (r.Category, _categories), (r.SourceItem, _items),
    (r.Score, _scores), (r.ScoreObjective, _score_objectives),
)


# ---- lookups ----------------------------------------------------------------------


_STUDENT_COLUMNS = {
    "sourced_id": m.Student.sourced_id, "username": m.Student.username,
    "email": m.Student.email, "identifier": m.Student.identifier,
}


def _student_ids(session: Session, kind: str, values: Iterable[str]) -> dict[str, int]:
    """Student id per reference value; -1 when the value matches several students."""
    column = _STUDENT_COLUMNS[kind]
    found: dict[str, int] = {}
    for chunk in chunks(sorted(set(values))):
        for value, sid in session.execute(select(column, m.Student.id).where(column.in_(chunk))):
            found[value] = -1 if value in found else sid
    return found


def _unknown_student(value: str, marker: int, kind: str = "sourced_id") -> str:
    if marker < 0:
        return f"student {kind} {value!r} matches several students; fix the roster"
    return f"unknown student: no student on the roster has {kind} {value!r}"


def _ids_by_key(session: Session, model: Any,
                keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    by_source: dict[str, set[str]] = defaultdict(set)
    for source, sid in keys:
        by_source[source].add(sid)
    found: dict[tuple[str, str], int] = {}
    for source, ids in by_source.items():
        for chunk in chunks(sorted(ids)):
            for sid, pk in session.execute(select(model.sourced_id, model.id).where(
                    model.source_system == source, model.sourced_id.in_(chunk))):
                found[(source, sid)] = pk
    return found

