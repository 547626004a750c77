"""The contracts every source and destination adapter keeps.

A source yields canonical records (wrapped with where they came from) and
rejections, in dependency order: roster before gradebook, items before scores.
A destination receives a plan of changed results and reports, per record key,
what it wrote; the sync layer keeps the ledger.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from marshmallow import Schema

from connector.adapters.options import typed_options
from connector.domain.records import Record
from connector.domain.scale import ProficiencyScale
from connector.errors import Rejection

PathResolver = Callable[[str], Path]
#: (environment reference, what it is for) -> the secret's value, looked up when needed.
SecretResolver = Callable[[str, str], str]


def _no_secrets(reference: str, purpose: str) -> str:
    raise LookupError(f"{purpose}: this adapter was not given a way to read secrets")


@dataclass(frozen=True)
class StoredEvent:
    """A learning event the intake endpoints stored, in arrival order (``seq``)."""

    seq: int
    spec: str  # xapi | caliper
    payload: Mapping[str, Any]
    voided: bool = False


#: (provider key, after this seq, at most this many) -> the next stored events, in order.
EventReader = Callable[[str, int, int], Sequence[StoredEvent]]


def _no_events(provider: str, after: int, limit: int) -> Sequence[StoredEvent]:
    raise LookupError("this adapter was not given a way to read stored learning events")


@dataclass(frozen=True)
class AdapterContext:
    """What the shell tells an adapter about its district: where paths start, its time zone.

    ``clock`` (seconds, monotonic) and ``sleep`` pace requests and retries: an adapter
    never calls ``time`` itself, so a test can run a vendor's quota on a virtual clock.
    """

    resolve_path: PathResolver
    timezone: str = "UTC"
    resolve_secret: SecretResolver = _no_secrets
    events: EventReader = _no_events
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    #: LMS user id -> SIS id, linked from the identity queue (the crosswalk file wins).
    identity_links: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Envelope:
    """A parsed record and where it was read (for rejections raised later, in staging)."""

    record: Record
    file: str
    row: int | None


@dataclass(frozen=True)
class Checkpoint:
    """Everything yielded before this may be committed, and a rerun need not read it again.

    The shell stores ``cursor`` in the same transaction as the records before it,
    so a run killed after a checkpoint resumes from it (:meth:`SourceAdapter.resume_from`)
    with nothing lost and nothing staged twice. Long pulls (an LMS, course by course)
    yield one after each unit of work.
    """

    cursor: Mapping[str, Any]


class Adapter:
    """A configured source or destination: its key, options and the shell's context.

    Subclasses declare ``kind``, ``options_schema`` (the keys, defaults and rules a
    district writes) and ``settings_type``, the frozen dataclass the options load
    into; they read ``self.settings``, never the raw mapping.
    """

    kind: ClassVar[str]
    options_schema: ClassVar[type[Schema]]
    settings_type: ClassVar[type[Any]]
    settings: Any

    def __init__(self, key: str, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.key = key
        self.options = options
        self.context = context
        self.settings = typed_options(self.settings_type, self.options_schema(), options)


class SourceAdapter(Adapter, ABC):
    """Reads one configured source."""

    #: How errors and checks name the vendor: "Canvas", "OneRoster", ...
    vendor: ClassVar[str] = ""

    @property
    def system(self) -> str:
        """The source as errors name it: vendor and the district's key for it."""
        return f"{self.vendor or self.kind} source {self.key!r}"

    #: What a score on an item with no maximum means in this source's data, unless the
    #: source's ``score_conversion.without_maximum`` says: ``percent`` where the format
    #: scores in percent when it gives no maximum (vendor exports, xAPI scaled scores),
    #: ``reject`` where a missing maximum is missing information (OneRoster).
    scores_without_maximum: ClassVar[str] = "percent"

    @abstractmethod
    def read(self) -> Iterator[Envelope | Rejection | Checkpoint]:
        """Yield every record and rejection, streaming, in dependency order."""

    @classmethod
    def config_defaults(cls, entry: Mapping[str, Any], resolve_path: PathResolver,
                        codes: Sequence[str], proficient: str) -> dict[str, Any]:
        """Common source settings (``evidence``, ``score_conversion``) the adapter can supply.

        A vendor profile knows its product's usual evidence type, DOK and cut
        scores; the district's own settings in the source entry always win.
        ``codes`` are the district scale's level codes, lowest first.
        """
        return {}

    def fingerprint(self) -> str:
        """A cheap description of the input (paths, sizes) for the run report."""
        return ""

    def input_digest(self) -> str | None:
        """A digest of everything a read would see, for a source that reads whole files.

        When it equals the last complete read's and nothing staging matches the
        records against has changed, the runner does not read the source again
        (see :mod:`connector.sync.unchanged_input`). None, the default, for a source
        that asks an API: its cursor already says what is new.
        """
        return None

    def resume_from(self, cursor: Mapping[str, Any]) -> None:
        """Where the last complete read ended; incremental sources start from there."""
        return None

    def cursor(self) -> Mapping[str, Any]:
        """Where this read ended, saved by the shell only if the read completed cleanly."""
        return {}

    def read_in_full(self) -> None:
        """Read everything this time, not only what changed since the cursor."""
        return None

    @abstractmethod
    def check(self) -> str:
        """Sign in and make one cheap read; what was seen, in a sentence.

        ``connector check`` calls this before the first run. It raises the same
        errors a run would (bad credentials, unreachable host, missing file),
        and never returns or raises a secret or a student's name.
        """


@dataclass(frozen=True)
class OutboundLineItem:
    """A competency as a gradebook column (OneRoster lineItem) in one class."""

    sourced_id: str
    title: str
    description: str
    class_sourced_id: str
    school_sourced_id: str
    academic_session_sourced_id: str
    competency_identifier: str
    result_value_min: float
    result_value_max: float
    assign_date: datetime
    due_date: datetime
    #: For SIS APIs that key sections by course and session (Ed-Fi).
    competency_code: str = ""
    course_code: str = ""
    term_title: str = ""
    term_school_year: str = ""


@dataclass(frozen=True)
class OutboundResult:
    """One student's mastery on one competency, as a gradebook result."""

    record_key: str
    sourced_id: str
    line_item: OutboundLineItem
    student_sourced_id: str
    score: float | None
    text_score: str
    score_status: str
    score_date: datetime
    comment: str
    payload_hash: str
    level_code: str = ""
    state: str = ""
    #: When the student joined the class (Ed-Fi keys a section association by it).
    enrollment_begin: date | None = None


@dataclass(frozen=True)
class OutboundCredit:
    """One course line of an issued transcript: credit earned by demonstrated competency."""

    course_code: str
    title: str
    credits: float
    earned: bool
    #: The district's local day the credit was earned (ISO), when earned here.
    earned_on: str | None
    subject: str
    #: The school year the course was taken, as the transcript shows it ("2024-2025").
    school_year: str
    in_progress: bool = False
    #: Credit accepted on transfer: the school that awarded it.
    transfer_from: str = ""


@dataclass(frozen=True)
class OutboundTranscript:
    """A student's issued transcript, as frozen when it was issued (plain data).

    The SIS gets what the registrar issued, not what the records say tonight: the
    credits come from the version's snapshot, so a later sync never changes a
    transcript the SIS holds until the registrar re-issues it.
    """

    student_sourced_id: str
    #: The student's school in the roster (OneRoster org sourcedId).
    school_sourced_id: str
    version: int
    issued_on: str
    snapshot_sha256: str
    credits: Sequence[OutboundCredit]
    expected_graduation: str = ""


@dataclass(frozen=True)
class PushPlan:
    """The results that changed since the last push, and whether this is the first push."""

    destination: str
    results: Sequence[OutboundResult]
    first_push: bool
    source_system_name: str = "mastery-connector"
    #: Issued transcripts, for destinations that take them (``wants_transcripts``).
    transcripts: Sequence[OutboundTranscript] = ()


@dataclass(frozen=True)
class PushOutcome:
    """What a destination accepted: the record keys written, and where."""

    written: Sequence[str]
    location: str
    failed: Mapping[str, str] = field(default_factory=dict)


class DestinationAdapter(Adapter, ABC):
    """Writes a push plan to one configured destination."""

    @abstractmethod
    def push(self, plan: PushPlan) -> PushOutcome:
        """Write the plan; verify what was written; report it."""

    @abstractmethod
    def check(self) -> str:
        """Sign in, or make sure the output can be written: what was seen, in a sentence."""

    @classmethod
    def scale_problems(cls, options: Mapping[str, Any], scale: ProficiencyScale
                       ) -> list[tuple[str, str]]:
        """(option path, problem) for what the district's scale cannot be written as here.

        Checked when the configuration loads, so that a label the destination would
        cut short or refuse is a configuration error, not a run of rejected records.
        """
        return []


@dataclass(frozen=True)
class StagedBundle:
    """A bundle written in full where the SIS cannot see it yet, awaiting its ledger.

    ``digest`` names the plan it holds, so a rerun can tell whether a bundle a
    killed push left behind is the one it would write now.
    """

    name: str
    location: str
    digest: str
    first_push: bool


class StagedDestination(DestinationAdapter):
    """A file destination that sends in two steps, so a bundle is sent exactly once.

    ``stage`` writes and verifies the whole bundle under hidden names; the core then
    commits the ledger naming it, and only then ``publish`` renames it into the
    folder the SIS reads. A kill before the commit leaves a staged bundle no ledger
    names (adopted by the next push if its plan is the same, else discarded); a kill
    after it leaves one the ledger names, which the next push publishes.
    """

    @abstractmethod
    def stage(self, plan: PushPlan, digest: str) -> StagedBundle:
        """Write and verify the whole bundle, invisible to the SIS."""

    @abstractmethod
    def publish(self, staged: StagedBundle) -> None:
        """Move a staged bundle where the SIS reads it; safe to repeat after a kill."""

    @abstractmethod
    def leftovers(self) -> list[StagedBundle]:
        """Complete staged bundles an earlier push left; incomplete ones are removed."""

    @abstractmethod
    def discard(self, staged: StagedBundle) -> None:
        """Remove a staged bundle that will not be sent."""

    def push(self, plan: PushPlan) -> PushOutcome:
        """Stage and publish at once, for a caller that keeps no ledger in between."""
        if not plan.results:
            return PushOutcome(written=(), location="")
        staged = self.stage(plan, digest="")
        self.publish(staged)
        return PushOutcome(written=tuple(r.record_key for r in plan.results),
                           location=staged.location)
