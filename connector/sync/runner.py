"""Run a configured job: frameworks -> sources -> mapping -> evidence -> mastery -> push.

Each source batch is staged in its own transaction together with its
rejections, so a crash loses at most the batch in flight and never leaves half
a batch behind. Later steps run on what was committed. A second run over the
same inputs writes nothing and reports "no changes".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.base import Checkpoint, Envelope, SourceAdapter
from connector.adapters.registry import source_class
from connector.config.model import JobConfig, Settings
from connector.config.secrets import resolve_secret
from connector.domain.hashing import content_hash
from connector.errors import ConfigurationError, ConnectorError, Rejection
from connector.persistence import models as m
from connector.persistence.locks import Waiter
from connector.persistence.models import utcnow
from connector.persistence.tenancy import tenant_session
from connector.sync import compute, evidence, identity_links, safe_push, unchanged_input
from connector.sync.align import AlignResult, align_items
from connector.sync.district import ensure_district
from connector.sync.framework_import import fetch_package, import_framework
from connector.sync.intake import stored_events
from connector.sync.push import push_destination
from connector.sync.push_hold import HELD
from connector.sync.report import (
    FAILED,
    INTERRUPTED,
    QUEUED,
    SUCCEEDED,
    WITH_REJECTIONS,
    Progress,
    RunReport,
)
from connector.sync.run_lock import one_run_of
from connector.sync.staging import STREAMS, FirstLoad, StageResult, StreamCounts, stage_batch
from connector.sync.stop import NEVER, RunInterrupted, StopToken
from connector.sync.util import adapter_context

log = logging.getLogger(__name__)
T = TypeVar("T")
BATCH_SIZE = 1000

#: An extra step a job kind runs after the sync steps (e.g. generating transcripts).
JobHook = Callable[[Session, Settings, JobConfig, RunReport], None]


def run_job(
    factory: sessionmaker[Session],
    settings: Settings,
    job_key: str,
    *,
    batch_size: int = BATCH_SIZE,
    hooks: Mapping[str, JobHook] | None = None,
    full: bool = False,
    stop: StopToken = NEVER,
    wait: Waiter | None = None,
    progress: Progress | None = None,
    run_id: int | None = None,
) -> RunReport:
    """Run one job to completion and return its report (failures are in the report).

    Only one run of a job runs at a time: a second one raises :class:`BusyError`
    at once, or with ``wait`` starts when the first has finished. ``stop`` ends
    the run at the next batch boundary with status ``interrupted``.

    ``full`` reads every source in full once, whatever its cursor says: after the
    roster or the identity crosswalk was fixed, scores a source sent before and
    staging refused (an unknown student) are only read again this way.

    ``run_id`` names a queued run ("run now" from the API) that this run becomes,
    so the id the person was given is the run's own.
    """
    job = settings.jobs.get(job_key)
    if job is None:
        raise ConfigurationError(f"there is no job {job_key!r}; the configured jobs are "
                                 f"{', '.join(sorted(settings.jobs)) or 'none'}")
    district_id = ensure_district(factory, settings.district)
    with one_run_of(factory, district_id, job.key, wait=wait):
        return _run(factory, district_id, settings, job, batch_size=batch_size,
                    hooks=hooks or {}, full=full, stop=stop,
                    progress=progress or _no_progress, queued=run_id)


def _no_progress(stage: str, done: int | None) -> None:
    return None


def _run(factory: sessionmaker[Session], district_id: int, settings: Settings, job: JobConfig,
         *, batch_size: int, hooks: Mapping[str, JobHook], full: bool, stop: StopToken,
         progress: Progress, queued: int | None = None) -> RunReport:
    fingerprints = config_fingerprints(settings)
    with tenant_session(factory, district_id) as session, session.begin():
        previous = session.scalars(select(m.SyncRun.fingerprints).where(
            m.SyncRun.status.in_((SUCCEEDED, WITH_REJECTIONS))).order_by(
            m.SyncRun.id.desc())).first() or {}
        last_status = session.scalars(select(m.SyncRun.status).where(
            m.SyncRun.status != QUEUED).order_by(m.SyncRun.id.desc())).first()
        run, resumed = _start_row(session, job.key, queued)
        run.config_version, run.fingerprints = settings.version, fingerprints
        session.flush()
        report = RunReport(run.id, job.key, settings.district.key, settings.version, run.started_at)
        if resumed:
            report.notes.append("resumed: the worker running it before was lost or stopped "
                                "mid-run; what it had not committed was done again")
    log.info("run %s started: job=%s district=%s", report.run_id, job.key, settings.district.key)
    # Rebuild what a configuration change can affect: all evidence when how scores become
    # evidence changed, every record when the scale changed (policy changes are caught per
    # record by its policy version). After a run that did not finish cleanly, both: what it
    # staged but never turned into evidence and mastery must not be lost just because its
    # content hashes now look unchanged.
    unclean = last_status not in (None, SUCCEEDED, WITH_REJECTIONS)
    evidence_changed = unclean or previous.get("evidence") != fingerprints["evidence"]
    scale_changed = unclean or any(previous.get(k) != fingerprints[k] for k in ("scale", "rollups"))
    dok_changed: set[str] = set()
    failed_steps: set[str] = set()

    def begin(name: str) -> None:
        """A stage starts: written down so the run can be watched, then told to ``progress``."""
        _mark_stage(factory, district_id, report, name)
        progress(name, None)

    def step(name: str, body: Callable[[Session], T]) -> T | None:
        """One stage in one transaction; a failure is recorded and the run goes on."""
        stop.check(f"before {name}")
        begin(name)
        started = time.perf_counter()
        try:
            with tenant_session(factory, district_id) as session, session.begin():
                return body(session)
        except ConnectorError as exc:
            failed_steps.add(name)
            report.errors.append(f"{name}: {exc}")
            log.warning("run %s: %s failed: %s", report.run_id, name, type(exc).__name__)
        except Exception as exc:  # an unexpected failure is a failed run, not a crash
            failed_steps.add(name)
            report.errors.append(f"{name}: unexpected {type(exc).__name__}: {exc}")
            log.exception("run %s: %s failed", report.run_id, name)
        finally:
            report.timings[name] = round(time.perf_counter() - started, 3)
        return None

    try:
        for key in job.frameworks:
            changed = step(f"framework {key}", partial(_import_framework, settings=settings,
                                                       key=key, report=report))
            dok_changed.update(changed or ())
        staged = StageResult()
        for key in job.sources:
            stop.check(f"before source {key}")
            begin(f"source {key}")
            started = time.perf_counter()
            try:
                _read_source(factory, district_id, settings, key, staged, report, batch_size,
                             full=full, stop=stop, progress=progress, may_skip=not unclean)
            finally:
                report.timings[f"source {key}"] = round(time.perf_counter() - started, 3)
        report.rejections += len(staged.rejections)
        _refresh_statistics(factory, len(staged.changed_scores))
        aligned = step("mapping", partial(_map, settings=settings, report=report))
        built = step("evidence", partial(_evidence, settings=settings, staged=staged,
                                         aligned=aligned, rebuild_all=evidence_changed,
                                         report=report))
        _refresh_statistics(factory, len(built.affected_pairs) if built else 0)
        step("mastery", partial(_mastery, settings=settings, staged=staged, built=built,
                                rebuild_all=scale_changed, dok_changed=dok_changed,
                                report=report))
        _refresh_statistics(factory, sum(report.mastery.get(k, 0) for k in (
            "inserted", "updated", "removed")) if report.mastery else 0, vacuum=True)
        if "mastery" in failed_steps and job.destinations:
            # What a destination would get is last run's records beside this run's half:
            # nothing goes out until a run's mastery step has committed.
            report.notes.append(f"nothing was pushed to {', '.join(job.destinations)}: the "
                                f"mastery step did not commit; the next run pushes")
        else:
            # A run that already failed somewhere may push what changed, never a full
            # replacement: a SIS applying a bulk file would drop what the failure left out.
            bulk_allowed = not report.errors
            for key in job.destinations:
                if safe_push.is_record_destination(settings, key):
                    stop.check(f"before push {key}")
                    begin(f"push {key}")
                    _push_records(factory, district_id, settings, key, job.key, report,
                                  progress)
                else:
                    step(f"push {key}", partial(_push, settings=settings, key=key,
                                                report=report, bulk_allowed=bulk_allowed))
        hook = hooks.get(job.kind)
        if hook is not None:
            step(job.kind, lambda session: hook(session, settings, job, report))
    except RunInterrupted as exc:
        report.interrupted = str(exc)
        log.warning("run %s interrupted: %s", report.run_id, exc)
    finally:
        _finish(factory, district_id, report)
    return report


def _start_row(session: Session, job: str, queued: int | None) -> tuple[m.SyncRun, bool]:
    """The run's row and whether it resumes: the queued row, the interrupted one, or new.

    An interrupted run is resumed only when a worker is handed it again: the broker
    redelivers a run whose worker was lost (killed, or shut down mid-run), and the run
    then finishes as itself, so the id the person holds ends with a final status. It
    keeps its start time; it rebuilds what it touched because its last status was not
    clean.
    """
    if queued is None:
        run = m.SyncRun(job=job)
        session.add(run)
        return run, False
    found = session.get(m.SyncRun, queued)
    if found is None or found.job != job or found.status not in (QUEUED, INTERRUPTED):
        raise ConfigurationError(f"run {queued} is not a queued or interrupted run of job "
                                 f"{job!r}")
    resumed = found.status == INTERRUPTED
    if resumed:
        found.finished_at = None
    else:
        found.started_at = utcnow()
    found.status = "running"
    return found, resumed


def _mark_stage(factory: sessionmaker[Session], district_id: int, report: RunReport,
                stage: str) -> None:
    """Write which stage the run is in, and how long each one before it took.

    Called between stages, when no stage holds a transaction (SQLite has one writer).
    """
    with tenant_session(factory, district_id) as session, session.begin():
        run = session.get(m.SyncRun, report.run_id)
        if run is not None:
            run.counts = {"progress": {"stage": stage, "done": dict(report.timings)}}


def config_fingerprints(settings: Settings) -> dict[str, str]:
    """Hashes of the configuration each later step depends on.

    ``evidence``: how scores become evidence (scale, sources' evidence defaults and
    conversions, crosswalk, DOK patterns). ``scale``: the levels and labels records
    carry. ``rollups``: which parents roll up (a new rule has no records to compare
    yet). Mastery policies are not here: each record names its policy version.
    """
    scale = settings.district.scale
    sources = [(s.key, s.kind, s.evidence, s.conversion, dict(s.options))
               for s in sorted(settings.sources.values(), key=lambda s: s.key)]
    return {
        "evidence": content_hash([scale, sources, list(settings.crosswalk),
                                  list(settings.district.dok_patterns)]),
        "scale": content_hash(scale),
        "rollups": content_hash(settings.district.rollups),
    }


def _import_framework(session: Session, settings: Settings, key: str,
                      report: RunReport) -> list[str]:
    """Import one configured framework; returns the competencies whose target DOK changed."""
    source = next(f for f in settings.district.frameworks if f.key == key)
    location = source.location
    if not location.startswith(("http://", "https://")):
        location = str(settings.resolve_path(location))
    token = None
    if source.token:
        token = resolve_secret(source.token, purpose=f"framework {key} token")
    data, raw = fetch_package(location, token=token)
    summary = import_framework(session, data, raw, location=source.location, key=key,
                               kind=source.kind, dok_patterns=settings.district.dok_patterns)
    report.frameworks.append({"key": key, **summary.as_dict()})
    report.changes += summary.created + summary.updated + summary.deprecated
    report.changes += len(summary.dok_changed)
    report.rejections += len(summary.rejected)
    return summary.dok_changed


def _read_source(factory: sessionmaker[Session], district_id: int, settings: Settings, key: str,
                 staged: StageResult, report: RunReport, batch_size: int, *,
                 full: bool = False, stop: StopToken = NEVER,
                 progress: Progress = _no_progress, may_skip: bool = False) -> None:
    """Read one source into staging, batch by batch; a failure is the report's, not raised.

    ``may_skip``: a file source whose files and context are those of its last complete
    read is not read again (:mod:`connector.sync.unchanged_input`).
    """
    config = settings.sources[key]
    with tenant_session(factory, district_id) as session, session.begin():
        links = identity_links.user_links(session, key)
    adapter: SourceAdapter = source_class(config.kind)(
        key, config.options,
        adapter_context(settings, events=partial(stored_events, factory, district_id),
                        links=links))
    reread: datetime | None = None
    with tenant_session(factory, district_id) as session, session.begin():
        system = session.scalars(select(m.SourceSystem).where(m.SourceSystem.key == key)).first()
        if system is None:
            session.add(m.SourceSystem(key=key, kind=config.kind, name=config.name))
        else:
            adapter.resume_from(system.cursor or {})
            reread = system.reread_asked_at
        if full or reread is not None:  # a new identity link asks for what was refused
            adapter.read_in_full()
    local = StageResult()
    first_load = FirstLoad()
    batch: list[Envelope] = []
    pending: list[Rejection] = []

    batches = 0

    def commit(cursor: Mapping[str, Any] | None = None) -> None:
        nonlocal batches
        batches += 1
        if batches & (batches - 1) == 0:  # batches 1, 2, 4, 8...: tables double between checks
            _refresh_statistics(factory, batches * batch_size)
        def keep(session: Session, staged: StageResult) -> None:
            for rejection in pending + staged.rejections:
                session.add(m.SyncRejection(run_id=report.run_id, file=rejection.file,
                                            row=rejection.row, field=rejection.field,
                                            reason=rejection.reason,
                                            record_key=rejection.record_key[:255],
                                            source=key, subject=rejection.subject[:255]))
            if cursor is not None:  # with the records before it, or not at all
                _store_cursor(session, key, cursor)

        staged = StageResult()
        try:
            with tenant_session(factory, district_id) as session, session.begin():
                stage_batch(session, batch, staged, first_load)
                keep(session, staged)
        except REFUSED:  # one record the store will not take must not stop the others
            staged = _stage_each(factory, district_id, batch, keep)
        local.merge(staged)
        batch.clear()
        pending.clear()
        progress(f"source {key}", sum(c.read for c in local.counts.values()))

    try:
        digest = adapter.input_digest()
        if digest is not None and may_skip and not full and reread is None and _skipped(
                factory, district_id, settings, key, digest, local, report):
            return
        with tenant_session(factory, district_id) as session, session.begin():
            unchanged_input.forget(session, key)
        for item in adapter.read():
            if stop.requested:  # keep what was read, then stop: nothing is lost, and the
                commit()        # cursor has not moved past anything uncommitted
                stop.check(f"while reading source {key}")
            if isinstance(item, Checkpoint):
                commit(item.cursor)
                continue
            if isinstance(item, Rejection):
                stream = _stream_of(item.file)
                local.counts[stream].read += 1
                local.reject(stream, item)
                pending.append(item)
            else:
                batch.append(item)
            if len(batch) + len(pending) >= batch_size:
                commit()
        commit()
        _save_cursor(factory, district_id, key, adapter.cursor(), reread=reread)
        if digest is not None:
            with tenant_session(factory, district_id) as session, session.begin():
                unchanged_input.remember(session, settings, key, digest, report.run_id, {
                    stream: c.__dict__ for stream, c in local.counts.items()})
    except ConnectorError as exc:
        report.errors.append(f"source {key}: {exc}")
        log.warning("run %s: source %s failed: %s", report.run_id, key, type(exc).__name__)
    except Exception as exc:  # the batch in flight rolled back; earlier batches stand
        report.errors.append(f"source {key}: unexpected {type(exc).__name__}: {exc}")
        log.exception("run %s: source %s failed", report.run_id, key)
    finally:  # an interrupted read still reports what it committed
        report.sources[key] = {stream: dict(c.__dict__) for stream, c in local.counts.items()}
        report.changes += sum(c.changed for c in local.counts.values())
        staged.rejections.extend(local.rejections)
        staged.changed_scores |= local.changed_scores
        staged.changed_items |= local.changed_items
        staged.deleted_pairs |= local.deleted_pairs


def _skipped(factory: sessionmaker[Session], district_id: int, settings: Settings, key: str,
             digest: str, local: StageResult, report: RunReport) -> bool:
    """Whether the last read stands for this one; if so its counts and rejections are this run's."""
    with tenant_session(factory, district_id) as session, session.begin():
        last = unchanged_input.repeat(session, settings, key, digest, report.run_id)
    if last is None:
        return False
    for stream, counts in unchanged_input.unchanged_counts(last["streams"]).items():
        local.counts[stream] = StreamCounts(**counts)
    report.rejections += last["rejections"]
    report.notes.append(
        f"source {key}: the same files as run {last['run']} read, and nothing they are "
        f"matched against changed, so they were not read again"
        + (f"; the {last['rejections']} rows refused then are refused again in this run"
           if last["rejections"] else ""))
    log.info("run %s: source %s unchanged since run %s, not read", report.run_id, key,
             last["run"])
    return True


#: What a database raises for a record it will not store (a NUL in PostgreSQL text, a value
#: out of a column's range, a key another row holds): a rejection, never a failed run. A lost
#: connection is not among them: that fails the source, and the batch is read again next run.
REFUSED = (sqlalchemy_exc.DataError, sqlalchemy_exc.IntegrityError)


def _stage_each(factory: sessionmaker[Session], district_id: int, batch: list[Envelope],
                keep: Callable[[Session, StageResult], None]) -> StageResult:
    """Stage a refused batch record by record, each in a savepoint; reject what is refused."""
    staged = StageResult()
    with tenant_session(factory, district_id) as session, session.begin():
        for envelope in batch:
            one = StageResult()
            try:
                with session.begin_nested():
                    stage_batch(session, [envelope], one)
            except REFUSED as exc:
                one = StageResult()
                stream = STREAMS[type(envelope.record)]
                one.counts[stream].read += 1
                one.reject(stream, Rejection(
                    envelope.file, envelope.row, "",
                    f"the database refused this record: {_refusal(exc)}",
                    record_key=str(getattr(envelope.record, "sourced_id", ""))))
            staged.merge(one)
        keep(session, staged)
    return staged


def _refusal(exc: sqlalchemy_exc.DBAPIError) -> str:
    """The database's own first line, which names the problem and never a bound value."""
    text = str(exc.orig) if exc.orig is not None else type(exc).__name__
    return text.strip().split("\n", 1)[0][:300]


def _stream_of(file: str) -> str:
    """Rows an adapter could not parse are counted per file, apart from the record streams."""
    return f"{file or 'input'}: unparsed rows"


#: Tables whose planner statistics go stale after a bulk load, and the small ones the
#: API's reads join (PostgreSQL's autovacuum never analyzes a table under 50 rows).
_ANALYZED = ("student", "source_item", "alignment", "raw_score", "raw_score_objective",
             "evidence", "mastery_record", "enrollment", "competency", "class_section")
#: Rows SQLite samples per index for its statistics: approximate, and bounded in time.
SQLITE_ANALYSIS_LIMIT = 2000


#: Tables the reports read through index-only scans once PostgreSQL knows their pages are
#: all visible (VACUUM sets that; a bulk load leaves it unset until autovacuum comes by).
_VACUUMED = ("evidence", "mastery_record")


def _refresh_statistics(factory: sessionmaker[Session], changed_rows: int, *,
                        vacuum: bool = False) -> None:
    """Planner statistics after a large load, on both stores.

    Right after a first load the planner still believes these tables are empty
    and picks nested loops over sequential scans for the evidence and mastery
    joins, which made a 1,000-student first sync quadratic on PostgreSQL (see
    docs/benchmarks.md). Autovacuum catches up only later; a few hundred
    milliseconds of ANALYZE here keeps every later query on its indexes. Staging
    calls it after batches 1, 2, 4, 8... so statistics follow the tables' growth,
    and the run after its evidence and mastery steps, so the API reads what was
    written with plans made for it. SQLite, which never gathers statistics by
    itself, walked the district index for a student's evidence (25 ms of a 30 ms
    read) until it had some; it samples a bounded number of rows per index.

    ``vacuum`` (after the mastery step): PostgreSQL also vacuums evidence and records,
    so their visibility map is set. Until then the planner prices an index-only scan
    with a heap visit per row and reads the whole table instead: a district's progress
    report read 65 MB of records for 10 MB of index (56 ms against 15 ms at 3,000
    students). VACUUM cannot run in a transaction, so it runs on its own connection.
    """
    engine = factory.kw.get("bind")
    if engine is None or changed_rows < 1000:
        return
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        elif engine.dialect.name != "postgresql":
            return
        for table in _ANALYZED:
            if not (vacuum and engine.dialect.name == "postgresql" and table in _VACUUMED):
                connection.exec_driver_sql(f"ANALYZE {table}")
        connection.commit()
    if vacuum and engine.dialect.name == "postgresql":
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(_VACUUMED)}")
        except sqlalchemy_exc.DBAPIError as exc:
            # Only reads get slower without it (autovacuum comes later); the run's records
            # are committed, so a refused VACUUM (a role that does not own the tables) is
            # said and not made the run's failure.
            log.warning("VACUUM after the mastery step refused: %s", type(exc.orig).__name__)


def _save_cursor(factory: sessionmaker[Session], district_id: int, key: str,
                 cursor: Mapping[str, Any], *, reread: datetime | None = None) -> None:
    """Only a read that got to the end moves the cursor: a failed one is read again in full.

    A full read asked for by an identity link is done once it gets here, unless
    another link asked again while it ran (a later time): that one still stands.
    """
    with tenant_session(factory, district_id) as session, session.begin():
        if cursor:
            _store_cursor(session, key, cursor)
        if reread is not None:
            system = session.scalars(select(m.SourceSystem)
                                     .where(m.SourceSystem.key == key)).one()
            if system.reread_asked_at == reread:
                system.reread_asked_at = None


def _store_cursor(session: Session, key: str, cursor: Mapping[str, Any]) -> None:
    system = session.scalars(select(m.SourceSystem).where(m.SourceSystem.key == key)).one()
    system.cursor = dict(cursor)


def _push_records(factory: sessionmaker[Session], district_id: int, settings: Settings,
                  key: str, job: str, report: RunReport,
                  progress: Progress = _no_progress) -> None:
    """An API destination pushes in its own transactions, audited (see safe_push)."""
    started = time.perf_counter()
    try:
        pushed = safe_push.run(factory, district_id, settings, key, actor=f"job:{job}",
                               sync_run_id=report.run_id, progress=progress)
    except ConnectorError as exc:
        report.errors.append(f"push {key}: {exc}")
        return
    finally:
        report.timings[f"push {key}"] = round(time.perf_counter() - started, 3)
    counts = pushed.counts
    if pushed.status == HELD:
        report.push.append({"destination": key, "planned": counts["create"] + counts["update"]
                            + counts["delete"], "written": 0, "unchanged": 0, "location": "",
                            "held": {"push_run": pushed.run_id, "reason": pushed.message,
                                     "counts": counts}})
        report.notes.append(_held_note(key, pushed.run_id, pushed.message))
        return
    written = counts["create"] + counts["update"] + counts["delete"]
    report.push.append({"destination": key, "planned": written + counts["rejected"]
                        + counts["mismatch"] + counts["failed"], "written": written,
                        "unchanged": counts["unchanged"], "location": f"push run {pushed.run_id}"})
    report.changes += written
    if pushed.status == "failed":
        report.errors.append(f"push {key}: {pushed.message}")
    # Records the SIS refused are the push's rejected rows: the run goes on, the report
    # says which, and 'connector push audit' has the server's words for each.
    report.rejections += len(pushed.problems)


def _held_note(destination: str, push_run: int, reason: str) -> str:
    return (f"the push to {destination} was held for review, nothing was sent "
            f"({reason.removeprefix('held for review: ')}); see it with 'connector push plan "
            f"{destination}', send it with 'connector push approve {push_run}'")


def _push(session: Session, settings: Settings, key: str, report: RunReport,
          bulk_allowed: bool = True) -> None:
    result = push_destination(session, settings, settings.destinations[key],
                              settings.district.key, report.run_id, bulk_allowed=bulk_allowed)
    report.push.append(result.__dict__)
    report.changes += result.written
    if result.held:
        report.notes.append(_held_note(key, result.held["push_run"], result.held["reason"]))


def _map(session: Session, settings: Settings, report: RunReport) -> AlignResult:
    result = align_items(session, settings)
    report.mapping = {"mapped_items": result.mapped, "unmapped_items": result.unmapped,
                      "items_realigned": result.alignments_changed,
                      "problems": len(result.problems)}
    report.changes += result.alignments_changed
    return result


def _evidence(session: Session, settings: Settings, staged: StageResult,
              aligned: AlignResult | None, rebuild_all: bool,
              report: RunReport) -> evidence.EvidenceResult:
    if rebuild_all:
        scores = evidence.all_scores(session)
    else:
        scores = set(staged.changed_scores)
        items = set(staged.changed_items)
        if aligned is not None:
            items |= aligned.changed_items
        scores |= evidence.scores_of_items(session, items)
    result = evidence.build_evidence(session, settings, scores)
    for rejection in result.rejections:
        session.add(m.SyncRejection(run_id=report.run_id, file=rejection.file, row=rejection.row,
                                    field=rejection.field, reason=rejection.reason,
                                    record_key=rejection.record_key[:255]))
    report.rejections += len(result.rejections)
    report.evidence = {"inserted": result.inserted, "updated": result.updated,
                       "deleted": result.deleted, "unchanged": result.unchanged,
                       "rejected": len(result.rejections)}
    report.changes += result.inserted + result.updated + result.deleted
    return result


def _mastery(session: Session, settings: Settings, staged: StageResult,
             built: evidence.EvidenceResult | None, rebuild_all: bool,
             dok_changed: set[str], report: RunReport) -> None:
    pairs = set(staged.deleted_pairs) | compute.outdated_pairs(session, settings)
    pairs |= compute.pairs_of_competencies(session, dok_changed)
    if built is not None:
        pairs |= built.affected_pairs
    if rebuild_all:
        pairs |= compute.all_pairs(session)
    # The evidence step committed in its own transaction: what this step reads is committed.
    result = compute.recompute(session, settings, pairs, committed=True)
    report.mastery = {"recomputed": result.computed, "inserted": result.inserted,
                      "updated": result.updated, "unchanged": result.unchanged,
                      "removed": result.removed,
                      "distribution": compute.distribution(session)}
    report.changes += result.inserted + result.updated + result.removed


def _finish(factory: sessionmaker[Session], district_id: int, report: RunReport) -> None:
    report.finished_at = utcnow()
    if report.interrupted:
        report.status = INTERRUPTED
    else:
        report.status = FAILED if report.errors else (
            WITH_REJECTIONS if report.rejections else SUCCEEDED)
    with tenant_session(factory, district_id) as session, session.begin():
        run = session.get(m.SyncRun, report.run_id)
        assert run is not None
        run.status = report.status
        run.finished_at = report.finished_at
        run.rejection_count = report.rejections
        lines = ([f"interrupted: {report.interrupted}"] if report.interrupted else []) + report.errors
        run.message = "\n".join(lines + report.notes)[:4000]
        data = report.as_dict()
        run.counts = {k: data[k] for k in ("frameworks", "sources", "mapping", "evidence", "timings",
                                            "mastery", "push", "transcripts", "changes", "errors",
                                            "notes")}
    log.info("run %s finished: %s", report.run_id, report.summary_line())
