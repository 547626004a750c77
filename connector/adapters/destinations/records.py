"""The contract of destinations that write one record at a time over an API.

A SIS API (OneRoster 1.2 REST, Ed-Fi ODS/API) lets us read each record before
writing it and read it back afterwards. That is what makes a push safe: the
shell (``connector.sync.safe_push``) plans the difference against its ledger,
keeps a before-image of every record it touches, verifies each write and can
put the before-images back. A destination only has to say, for its API, what
records it wants, how to read, write and delete one, and which fields the
server owns (so verification ignores them).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from connector.adapters.base import DestinationAdapter, PushOutcome, PushPlan
from connector.adapters.clients import api_client
from connector.adapters.http.client import HttpClient
from connector.adapters.options import PushSettings
from connector.domain.hashing import content_hash
from connector.errors import ConfigurationError


@dataclass(frozen=True)
class RemoteRecord:
    """One record as the destination should hold it.

    ``key`` is unique within the destination and stable across runs (it keys the
    ledger); ``remote_id`` is how the API addresses it; ``order`` puts parents
    before children (a score scale before the line items that use it).
    """

    resource: str
    key: str
    remote_id: str
    body: Mapping[str, Any]
    order: int
    label: str = ""
    #: Records of one group are sent together (a line item's results), so a destination can
    #: read their states in one listing instead of one request each.
    group: str = ""
    #: Whether this record carries one student's level, and the level's value (None for a
    #: state such as not yet): the safety hold counts the levels a push would lower.
    student_level: bool = False
    level: float | None = None

    @property
    def digest(self) -> str:
        return content_hash(dict(self.body))


@dataclass(frozen=True)
class Answer:
    """What the server said to one read, write or delete."""

    ok: bool
    status: int
    message: str = ""
    body: Mapping[str, Any] | None = None
    remote_id: str = ""


@dataclass(frozen=True)
class PushContext:
    """What a destination needs beyond the results: the scale and the district's key."""

    district_key: str
    scale_key: str
    scale_name: str
    levels: Sequence[tuple[str, str, float]]  # code, label, value, lowest first
    states: Mapping[str, str] = field(default_factory=dict)


class RecordDestination(DestinationAdapter):
    """A destination written record by record, with reads before and after."""

    settings: PushSettings

    #: Fields the server sets or rewrites; they never count as a difference.
    server_fields: frozenset[str] = frozenset({"dateLastModified", "id", "_etag",
                                               "_lastModifiedDate", "link"})

    def __init__(self, key: str, options: Mapping[str, Any], context: Any) -> None:
        super().__init__(key, options, context)
        #: Results the configuration cannot express (unmapped school or level), with why;
        #: filled by :meth:`desired`, shown by plan and run.
        self.skipped: list[tuple[str, str]] = []

    def push(self, plan: PushPlan) -> PushOutcome:
        raise ConfigurationError(
            f"destination {self.key!r} writes through 'connector push run'; it has no bundle mode")

    @abstractmethod
    def desired(self, plan: PushPlan, context: PushContext) -> list[RemoteRecord]:
        """Every record the destination should hold, built from the district's results."""

    @property
    def wants_results(self) -> bool:
        """Whether :meth:`desired` reads the district's results (a plan without them is cheap)."""
        return True

    @property
    def wants_transcripts(self) -> bool:
        """Whether :meth:`desired` reads issued transcripts (``PushPlan.transcripts``)."""
        return False

    #: How messages name the API, where its records live under ``base_url``, the scopes to ask
    #: for, and the client that speaks it.
    system: ClassVar[str]
    api_path: ClassVar[str]
    scopes: ClassVar[tuple[str, ...]] = ()
    client_class: ClassVar[type[HttpRecordClient]]
    #: The collection ``check`` lists one record of (under ``api_path``), and what it holds.
    check_collection: ClassVar[tuple[str, str]] = ("", "")

    def check(self) -> str:
        """A token by client credentials, then one record of a cheap collection."""
        collection, noun = self.check_collection
        with self.connect() as client:
            assert isinstance(client, HttpRecordClient)
            answer = client.http.get(f"{client.root}/{collection}", params={"limit": 1})
            body = answer.json() if answer.content else None
        found = bool(body) and not (isinstance(body, Mapping) and not any(body.values()))
        return (f"signed in to {self.system.removesuffix(' destination')} at "
                f"{self.location}; {'at least one ' + noun if found else 'no ' + noun + ' yet'}")

    @contextmanager
    def connect(self) -> Iterator[RecordClient]:
        """An authenticated client (OAuth2 client credentials) for one push or restore."""
        http = api_client(f"{self.system} {self.key!r}", self.settings, self.context,
                          default_token_path="/oauth/token", default_scopes=self.scopes)
        try:
            yield self.client_class(http, self.settings.base_url.rstrip("/") + self.api_path)
        finally:
            http.session.close()

    @property
    def location(self) -> str:
        return self.settings.base_url


class RecordClient:
    """Reads and writes single records; implemented per API."""

    @abstractmethod
    def read(self, record: RemoteRecord) -> Answer:
        """The record's current state: ok with a body, or ok with ``body=None`` if absent."""

    @abstractmethod
    def write(self, record: RemoteRecord) -> Answer:
        """Create or replace the record; idempotent for the same record."""

    @abstractmethod
    def delete(self, resource: str, remote_id: str) -> Answer:
        """Remove the record; removing an absent record is ok."""

    def read_many(self, records: Sequence[RemoteRecord]) -> dict[str, Answer]:
        """Many records' states by key; APIs that can list them in one call override this.

        Keys left out are read one by one by the caller (with its retries and guards).
        """
        return {}

    def put_back(self, resource: str, remote_id: str, body: Mapping[str, Any]) -> Answer:
        """Write a before-image back exactly as it was read."""
        return self.write(RemoteRecord(resource, "", remote_id, body, 0))


class HttpRecordClient(RecordClient):
    """A record client over the shared HTTP client, rooted at the API's record paths."""

    def __init__(self, http: HttpClient, root: str) -> None:
        self.http = http
        self.root = root


def matches(sent: Mapping[str, Any], current: Mapping[str, Any] | None,
            ignore: frozenset[str]) -> bool:
    """Whether the server holds what we sent: every field we sent, with the same value.

    Servers add fields (hrefs, links, their own timestamps) and may drop nulls we
    sent; neither is a difference. Numbers compare by value (4 == 4.0).
    """
    if current is None:
        return False
    return _same(dict(sent), dict(current), ignore)


def _same(sent: Any, current: Any, ignore: frozenset[str]) -> bool:
    if isinstance(sent, Mapping):
        if not isinstance(current, Mapping):
            return False
        for name, value in sent.items():
            if name in ignore:
                continue
            if value is None and current.get(name) is None:
                continue
            if name not in current or not _same(value, current[name], ignore):
                return False
        return True
    if isinstance(sent, list):
        return (isinstance(current, list) and len(sent) == len(current)
                and all(_same(a, b, ignore) for a, b in zip(sent, current, strict=True)))
    if isinstance(sent, bool) or isinstance(current, bool):
        return sent is current
    if isinstance(sent, int | float) and isinstance(current, int | float):
        return abs(float(sent) - float(current)) < 1e-9
    return bool(sent == current)
