"""Each registered source, set up against its fake with the same district's data.

A harness knows three things about its source: how to run it against its fake
(or its files), what the district's data says it must give, written from that data
and not from the adapter, and how to make its vendor misbehave the way the vendor
documents (a refused credential, a throttle, a record deleted at the source, a
pager that never ends). tests/contract/test_sources.py runs the same checks over
every harness.

The three LMS harnesses seed one small slice of the sample district (three classes,
their students and three graded tasks each, tests/fakes/lms_district.py) into their
fakes in each vendor's shapes. The OneRoster harnesses serve the sample district's
OneRoster bundle; the export harnesses read the sample's adaptive export; the event
harness stores xAPI statements made from a list of marks.
"""

from __future__ import annotations

import csv
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from connector.adapters.base import AdapterContext, SourceAdapter, StoredEvent
from connector.adapters.registry import source_class
from connector.config.secrets import resolve_secret
from connector.domain import records as r
from tests.conftest import ROOT
from tests.fakes import canvas_seed, google_seed, schoology_seed
from tests.fakes.canvas_server import FakeCanvas
from tests.fakes.clock import FakeClock
from tests.fakes.google_server import FakeClassroom
from tests.fakes.lms_district import POINTS, marks, title
from tests.fakes.oneroster_seed import rest_objects
from tests.fakes.oneroster_server import ALL_SCOPES, FakeOneRoster
from tests.fakes.schoology_server import FakeSchoology
from tests.fakes.server import serve

SAMPLE = ROOT / "examples" / "sample-district"
ONEROSTER = SAMPLE / "oneroster"
ADAPTIVE = SAMPLE / "adaptive" / "practice-pal-skills.csv"
#: A fact is one score as the district knows it; each harness says which fields it carries.
Fact = tuple[Any, ...]
#: The checks of the contract suite. A harness names those that cannot apply, and why.
CHECKS = ("same_records", "rerun", "kill_and_resume", "bad_credentials", "paging_loop",
          "throttling", "deletions")
#: The methods a harness has for each check that needs more than a read.
HOOKS = {"bad_credentials": ("break_credentials",), "paging_loop": ("loop_pages",),
         "throttling": ("throttle", "refusals"), "deletions": ("delete_one",)}


class Harness(ABC):
    """One source against its fake: build adapters, know the truth, make the vendor misbehave."""

    kind: ClassVar[str]
    #: check -> why it cannot apply to this source (never "not written yet").
    not_applicable: ClassVar[Mapping[str, str]] = {}
    #: What a wrong credential must not leak: set by :meth:`break_credentials`.
    secret = ""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder, self.monkeypatch = folder, monkeypatch
        self.clock = FakeClock()
        self.stack = ExitStack()
        self.options: dict[str, Any] = {}

    def __enter__(self) -> Harness:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()

    @abstractmethod
    def start(self) -> None:
        """Seed and serve the fake; fill ``self.options`` with the source's options."""

    def context(self) -> AdapterContext:
        """The shell's context, on a virtual clock: no check waits on real time."""
        return AdapterContext(lambda p: self.folder / p, "America/Denver",
                              lambda ref, purpose: resolve_secret(ref, purpose=purpose),
                              clock=self.clock, sleep=self.clock.sleep)

    def source(self, **options: Any) -> SourceAdapter:
        """A fresh adapter, as a new run builds one."""
        cls = source_class(self.kind)
        return cls(self.kind, {**self.options, **options}, self.context())

    @abstractmethod
    def expected(self) -> set[Fact]:
        """The facts the district's data holds, worked out without the adapter."""

    @abstractmethod
    def facts(self, records: Sequence[Any]) -> set[Fact]:
        """The facts a read gave, named as staging will resolve them."""

    def expected_rejections(self) -> set[tuple[str, int | None]]:
        """(file, row) of what the source itself must refuse in the district's data."""
        return set()


class ServedHarness(Harness):
    """A source read over HTTP from a fake vendor server, which can misbehave on request.

    Besides the base's, a harness has the hooks of every check it does not name as
    not applicable (:data:`HOOKS`): ``delete_one()`` deletes one record at the source and
    returns the id a later read must delete; ``throttle()`` makes the vendor refuse
    requests for a while and returns options for a client that meets it; ``refusals()``
    counts those refusals.
    """

    #: The environment variable holding the credential, and a wrong value for it.
    secret_variable: ClassVar[str]
    wrong_secret: ClassVar[str]
    #: Options to read with when the pager loops (a page size small enough for a next page).
    loop_options: ClassVar[Mapping[str, Any]] = {}
    fake: Any

    def break_credentials(self) -> None:
        """Make the configured credential wrong; put its value in :attr:`secret`."""
        self.secret = self.wrong_secret
        self.monkeypatch.setenv(self.secret_variable, self.secret)

    def loop_pages(self) -> dict[str, Any]:
        """Make the vendor's pager lead back to a page already read; options to read with."""
        self.fake.loop_pages = True
        return dict(self.loop_options)


# -- the three LMSs: one slice of the district's teacher evidence ---------------------------


def lms_plan() -> dict[str, tuple[list[str], list[str]]]:
    """Three classes of the sample district, with their students and competencies."""
    return dict(sorted(canvas_seed.sample_plan(ONEROSTER).items())[:3])


class LmsHarness(ServedHarness):
    """Facts are (class, task title, student SIS id, points, out of, graded at)."""

    sis_of: dict[str, str] = {}

    def expected(self) -> set[Fact]:
        return {(klass, title(klass, task), sis, mark.points, POINTS, mark.graded_at.isoformat())
                for (klass, task, sis), mark in marks(lms_plan()).items()}

    def facts(self, records: Sequence[Any]) -> set[Fact]:
        items = {i.sourced_id: i for i in records if isinstance(i, r.SourceItem)}
        out = set()
        for score in records:
            if not isinstance(score, r.Score) or score.deleted:
                continue
            item = items.get(score.item_sourced_id)
            if item is None or item.kind != "assignment":
                continue  # rubric criteria are scored on their own; the task's score is the fact
            student = self.sis_of.get(score.student.value, score.student.value)
            when = score.scored_at.isoformat() if score.scored_at else ""
            out.add((item.class_sourced_id, item.title, student, score.score,
                     score.max_score or item.result_value_max, when))
        return out


class CanvasHarness(LmsHarness):
    kind = "canvas"
    secret_variable, wrong_secret = "CANVAS_TOKEN", "not-the-canvas-token"
    loop_options = {"per_page": 10}  # Canvas links a next page only when there is one

    def start(self) -> None:
        self.monkeypatch.setenv("CANVAS_TOKEN", "canvas-token")
        self.fake = FakeCanvas(throttling=False, clock=self.clock)
        canvas_seed.seed(self.fake, lms_plan())
        url = self.stack.enter_context(serve(self.fake.app))
        self.options = {"base_url": url, "token": "${CANVAS_TOKEN}", "retry_delay": 0.01}

    def delete_one(self) -> str:
        first = min(self.fake.assignments)
        del self.fake.assignments[first]
        return str(first)

    def throttle(self) -> dict[str, Any]:
        # A small, fast bucket, and a client keeping no margin: it fills and is refused.
        self.fake.throttling, self.fake.throttle_status, self.fake.cost = True, 403, 30.0
        self.fake.bucket_settings = {"hwm": 400.0, "outflow": 300.0, "up_front": 50.0}
        return {"rate_limit_margin": 0, "rate_limit_outflow": 300.0, "per_page": 10}

    def refusals(self) -> int:
        return self.fake.throttled_count()


class ClassroomHarness(LmsHarness):
    kind = "google_classroom"

    def start(self) -> None:
        email_of = google_seed.emails(ONEROSTER)
        self.sis_of = {email: sis for sis, email in email_of.items()}
        self.fake = FakeClassroom(delegated={google_seed.ADMIN}, clock=self.clock)
        google_seed.seed(self.fake, lms_plan(), email_of)
        url = self.stack.enter_context(serve(self.fake.app))
        key, public = google_seed.service_account(url + "/token")
        self.fake.accounts["connector@cedar-ridge-sync.iam.gserviceaccount.com"] = public
        self.monkeypatch.setenv("CLASSROOM_KEY", key)
        self.options = {"base_url": url, "service_account_key": "${CLASSROOM_KEY}",
                        "subject": google_seed.ADMIN, "retry_delay": 0.01}

    def delete_one(self) -> str:
        course = min(self.fake.course_work)
        work = next(w for w in self.fake.course_work[course] if w.get("maxPoints"))
        self.fake.course_work[course].remove(work)
        return str(work["id"])

    def break_credentials(self) -> None:
        # A service-account key Google does not know: its token request is refused.
        key, _public = google_seed.service_account(self.options["base_url"] + "/token")
        self.secret = "PRIVATE KEY"
        self.monkeypatch.setenv("CLASSROOM_KEY", key)

    def throttle(self) -> dict[str, Any]:
        self.fake.quota, self.fake.window = 8, 60.0  # Google's window: a minute
        return {"quota_window_seconds": 60.0}  # the client's own pacing left at 1,000 a minute

    def refusals(self) -> int:
        return self.fake.refused()


class SchoologyHarness(LmsHarness):
    kind = "schoology"
    secret_variable, wrong_secret = "SGY_SECRET", "not-the-secret"

    def start(self) -> None:
        self.monkeypatch.setenv("SGY_KEY", "district-key")
        self.monkeypatch.setenv("SGY_SECRET", "district-secret")
        self.fake = FakeSchoology(clock=self.clock)
        schoology_seed.seed(self.fake, lms_plan())
        url = self.stack.enter_context(serve(self.fake.app))
        self.options = {"base_url": url + "/v1", "consumer_key": "${SGY_KEY}",
                        "consumer_secret": "${SGY_SECRET}", "retry_delay": 0.01}

    def delete_one(self) -> str:
        section = min(self.fake.assignments)
        work = next(w for w in self.fake.assignments[section]
                    if float(w.get("max_points") or 0) > 0 and str(w.get("published", 1)) != "0")
        self.fake.assignments[section].remove(work)
        return str(work["id"])

    def throttle(self) -> dict[str, Any]:
        self.fake.quota, self.fake.window = 6, 5.0  # Schoology's window: 5 seconds
        return {"window_seconds": 5.0, "requests_per_window": 50}

    def refusals(self) -> int:
        return self.fake.refused()


# -- OneRoster: the sample district's gradebook ---------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


class OneRosterFacts:
    """Facts are (result sourcedId, line item, student, score or None, score status)."""

    def expected(self) -> set[Fact]:
        out = set()
        for row in _rows(ONEROSTER / "results.csv"):
            status = "not submitted" if row["missing"] == "true" else row["scoreStatus"]
            out.add((row["sourcedId"], row["lineItemSourcedId"], row["studentSourcedId"],
                     float(row["score"]) if row["score"] else None, status))
        return out

    def facts(self, records: Sequence[Any]) -> set[Fact]:
        return {(s.sourced_id, s.item_sourced_id, s.student.value, s.score, s.status)
                for s in records if isinstance(s, r.Score) and not s.deleted}


class OneRosterRestHarness(OneRosterFacts, ServedHarness):
    kind = "oneroster_rest"
    secret_variable, wrong_secret = "OR_CLIENT_SECRET", "wrong-secret-value"

    def start(self) -> None:
        self.monkeypatch.setenv("OR_CLIENT_ID", "district-sync")
        self.monkeypatch.setenv("OR_CLIENT_SECRET", "s3cret-value")
        self.fake = FakeOneRoster(clients={"district-sync": ("s3cret-value", ALL_SCOPES)},
                                  max_limit=500)
        for resource, objects in rest_objects(ONEROSTER).items():
            self.fake.load(resource, objects)
        url = self.stack.enter_context(serve(self.fake.app))
        self.options = {"base_url": url, "client_id": "${OR_CLIENT_ID}",
                        "client_secret": "${OR_CLIENT_SECRET}", "page_size": 500,
                        "retry_delay": 0.01}

    def delete_one(self) -> str:
        sourced_id = min(self.fake.store["results"])
        with self.fake.lock:
            self.fake.store["results"][sourced_id] = {
                **self.fake.store["results"][sourced_id], "status": "tobedeleted",
                "dateLastModified": "2030-01-01T00:00:00.000Z"}
        return sourced_id

    def throttle(self) -> dict[str, Any]:
        # OneRoster leaves throttling to the server: 429 with Retry-After, as HTTP has it.
        self.fake.faults.status(3, 429, path="/results", retry_after="2")
        return {}

    def refusals(self) -> int:
        return sum(1 for kind, _m, _p in self.fake.faults.fired if kind == "status")


class OneRosterCsvHarness(OneRosterFacts, Harness):
    kind = "oneroster_csv"
    not_applicable = {
        "bad_credentials": "reads a file the district put in its own folder: no credentials",
        "paging_loop": "reads one local bundle: no pages",
        "throttling": "reads one local bundle: no request budget",
    }

    def start(self) -> None:
        shutil.copytree(ONEROSTER, self.folder / "oneroster")
        self.options = {"path": "oneroster"}

    def delete_one(self) -> str:
        """The SIS's next export marks one result ``tobedeleted`` (OneRoster's delta form)."""
        path = self.folder / "oneroster" / "results.csv"
        rows = _rows(path)
        rows[0]["status"] = "tobedeleted"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return rows[0]["sourcedId"]


# -- vendor exports: the sample's adaptive skill report --------------------------------------


class ExportFacts:
    """Facts are (student, skill, score as a number, practised on).

    The sample's report has one row whose SmartScore is ``N/A``: the source refuses
    it, naming its file and row, and reads the rest.
    """

    def files(self) -> dict[str, list[dict[str, str]]]:
        return {ADAPTIVE.name: _rows(ADAPTIVE)}

    def expected(self) -> set[Fact]:
        out = set()
        for rows in self.files().values():
            for row in rows:
                if _number(row["SmartScore"]) is None:
                    continue
                month, day, year = (int(p) for p in row["Last practiced"].split("/"))
                out.add((row["Student ID"], row["Skill ID"], float(row["SmartScore"]),
                         f"{year:04d}-{month:02d}-{day:02d}"))
        return out

    def expected_rejections(self) -> set[tuple[str, int | None]]:
        return {(name, number) for name, rows in self.files().items()
                for number, row in enumerate(rows, start=2) if _number(row["SmartScore"]) is None}

    def facts(self, records: Sequence[Any]) -> set[Fact]:
        items = {i.sourced_id: i for i in records if isinstance(i, r.SourceItem)}
        out = set()
        for s in records:
            if isinstance(s, r.Score) and not s.deleted:
                skill = items[s.item_sourced_id].sourced_id if s.item_sourced_id in items \
                    else s.item_sourced_id
                when = s.scored_at.date().isoformat() if s.scored_at else ""
                out.add((s.student.value, skill, s.score, when))
        return out


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


EXPORT_NA = {
    "bad_credentials": "reads a file the district put in its own folder: no credentials",
    "paging_loop": "reads local files: no pages",
    "throttling": "reads local files: no request budget",
    "deletions": "an export is a report of practice so far: a row absent from a later one "
                 "withdraws nothing, so nothing is deleted",
}


class AdaptiveCsvHarness(ExportFacts, Harness):
    kind = "adaptive_csv"
    not_applicable = EXPORT_NA

    def start(self) -> None:
        shutil.copy(ADAPTIVE, self.folder / ADAPTIVE.name)
        self.options = {"path": ADAPTIVE.name, "date_format": "%m/%d/%Y",
                        "columns": {"student": "Student ID", "skill": "Skill ID",
                                    "skill_name": "Skill", "score": "SmartScore",
                                    "date": "Last practiced"}}


class FileDropHarness(ExportFacts, Harness):
    kind = "file_drop"
    not_applicable = {**EXPORT_NA, "bad_credentials":
                      "the drop folder is local; SFTP sign-in is checked in "
                      "tests/adapters/test_file_drop_source.py against a real SSH server"}

    def files(self) -> dict[str, list[dict[str, str]]]:
        """The same report in two files, as a vendor sends part of its export each day."""
        rows = _rows(ADAPTIVE)
        return {"practice-1.csv": rows[:len(rows) // 2], "practice-2.csv": rows[len(rows) // 2:]}

    def start(self) -> None:
        inbox = self.folder / "inbox"
        inbox.mkdir()
        for name, part in self.files().items():
            with (inbox / name).open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(part[0]))
                writer.writeheader()
                writer.writerows(part)
            settled = datetime.now(UTC).timestamp() - 3600
            os.utime(inbox / name, (settled, settled))
        # The report has the shipped IXL profile's columns (it has no Standard column).
        self.options = {"profile": "ixl-skill-scores", "inbox": "inbox", "settle_seconds": 0}


# -- learning events: xAPI statements stored by the intake endpoint ---------------------------


HOME = "https://sis.cedar-ridge.example"


class LearningEventsHarness(Harness):
    """Facts are (statement id, student, activity, score of 1)."""

    kind = "learning_events"
    not_applicable = {
        "bad_credentials": "the provider's token is checked by the intake endpoint that "
                           "stores events (tests/integration/test_event_intake.py); the "
                           "source reads the store",
        "paging_loop": "reads the connector's own store by sequence number: no vendor pager",
        "throttling": "reads the connector's own store: no request budget",
    }

    def start(self) -> None:
        self.monkeypatch.setenv("TUTOR_TOKEN", "tutor-token")
        self.events: list[StoredEvent] = []
        start = datetime(2025, 10, 1, 14, 0, tzinfo=UTC)
        for n, student in enumerate(f"S1000{k:02d}" for k in range(1, 41)):
            for task in range(3):
                self._store({
                    "id": f"00000000-0000-4000-8000-{n * 10 + task:012d}",
                    "stored": (start + timedelta(minutes=n * 3 + task)).isoformat(),
                    "actor": {"account": {"homePage": HOME, "name": student}},
                    "verb": {"id": "http://adlnet.gov/expapi/verbs/scored"},
                    "object": {"id": f"https://tutor.example/activities/{task}"},
                    "result": {"score": {"raw": (n + task) % 9 + 1, "min": 0, "max": 10}}})
        self.options = {"token": "${TUTOR_TOKEN}", "account_home_page": HOME}

    def _store(self, payload: dict[str, Any]) -> None:
        self.events.append(StoredEvent(len(self.events) + 1, "xapi", payload))

    def context(self) -> AdapterContext:
        def events(provider: str, after: int, limit: int) -> Sequence[StoredEvent]:
            return [e for e in self.events if e.seq > after][:limit]
        base = super().context()
        return AdapterContext(base.resolve_path, base.timezone, base.resolve_secret, events,
                              clock=base.clock, sleep=base.sleep)

    def expected(self) -> set[Fact]:
        return {(e.payload["id"], e.payload["actor"]["account"]["name"], e.payload["object"]["id"],
                 float(e.payload["result"]["score"]["raw"])) for e in self.events
                if "result" in e.payload}

    def facts(self, records: Sequence[Any]) -> set[Fact]:
        items = {i.sourced_id: i for i in records if isinstance(i, r.SourceItem)}
        return {(s.sourced_id, s.student.value,
                 items[s.item_sourced_id].sourced_id if s.item_sourced_id in items
                 else s.item_sourced_id, s.score)
                for s in records if isinstance(s, r.Score) and not s.deleted}

    def delete_one(self) -> str:
        """The provider voids its first statement (xAPI's way to withdraw one)."""
        target = self.events[0].payload["id"]
        self._store({"id": "ffffffff-0000-4000-8000-000000000001",
                     "stored": "2025-11-01T00:00:00+00:00",
                     "actor": {"account": {"homePage": HOME, "name": "S100001"}},
                     "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                     "object": {"objectType": "StatementRef", "id": target}})
        return target


HARNESSES: dict[str, type[Harness]] = {h.kind: h for h in (
    CanvasHarness, ClassroomHarness, SchoologyHarness, OneRosterRestHarness,
    OneRosterCsvHarness, AdaptiveCsvHarness, FileDropHarness, LearningEventsHarness)}


def applicable(check: str) -> list[str]:
    """The sources a check runs over."""
    return sorted(k for k, h in HARNESSES.items() if check not in h.not_applicable)


def harness(kind: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    with HARNESSES[kind](folder, monkeypatch) as running:
        yield running
