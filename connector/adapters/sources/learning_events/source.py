"""Learning events a provider posted (xAPI statements, Caliper events), read as evidence.

The intake endpoints store events as they arrive; this source reads the ones
stored since its cursor, in arrival order, and turns each scored one into an
item and a score keyed by the event's own id, so an event is evidence once
however often the provider retried it. A voiding statement deletes the score of
the statement it voids, whether that was read in an earlier sync or not.
Events that are not evidence (no score, no student) are counted, not rejected:
``launched`` or ``experienced`` statements are normal traffic.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, validate

from connector.adapters.base import Checkpoint, Envelope, SourceAdapter, StoredEvent
from connector.adapters.options import SecretRef
from connector.adapters.sources.learning_events import caliper, xapi
from connector.domain.records import Score, StudentRef
from connector.errors import DataError, Rejection

PAGE = 1000


class LearningEventsOptions(Schema):
    #: The provider's token: an environment reference, never the token itself.
    token = SecretRef(required=True)
    #: xAPI actors whose account.homePage is this name the student by SIS id (account.name).
    account_home_page = fields.String(load_default=None)
    #: Which intake endpoint the provider posts to: xAPI statements or Caliper events.
    spec = fields.String(load_default="xapi", validate=validate.OneOf(["xapi", "caliper"]))
    #: Caliper: Person IRIs under this prefix end in the student's SIS id.
    person_iri_prefix = fields.String(load_default=None)
    #: Caliper: an event of a type the specification does not define refuses its
    #: envelope (400), or is left out of it.
    unknown_event_types = fields.String(load_default="refuse",
                                        validate=validate.OneOf(["refuse", "ignore"]))


@dataclass(frozen=True, kw_only=True)
class LearningEventsSettings:
    """:class:`LearningEventsOptions`, typed."""

    token: str
    account_home_page: str | None
    spec: str
    person_iri_prefix: str | None
    unknown_event_types: str


class LearningEventsSource(SourceAdapter):
    kind = "learning_events"
    options_schema = LearningEventsOptions
    settings_type = LearningEventsSettings
    settings: LearningEventsSettings

    def __init__(self, key: str, options: Mapping[str, Any], context: Any) -> None:
        super().__init__(key, options, context)
        self._after = 0
        self.skipped: dict[str, int] = {}

    def resume_from(self, cursor: Mapping[str, Any]) -> None:
        self._after = int(cursor.get("after", 0))

    def cursor(self) -> Mapping[str, Any]:
        return {"after": self._after}

    def fingerprint(self) -> str:
        return f"events after #{self._after}"

    def check(self) -> str:
        """The provider's token is set (intake needs it); how many events wait to be read."""
        self.context.resolve_secret(self.settings.token, f"source {self.key} token")
        waiting = len(self.context.events(self.key, self._after, PAGE))
        more = "+" if waiting == PAGE else ""
        return (f"the intake token is set; {waiting}{more} {self.settings.spec} event(s) "
                f"stored and not read yet")

    def read(self) -> Iterator[Envelope | Rejection | Checkpoint]:
        while True:
            events = self.context.events(self.key, self._after, PAGE)
            if not events:
                return
            for event in events:
                yield from self._one(event)
            self._after = events[-1].seq
            yield Checkpoint(self.cursor())

    def _one(self, event: StoredEvent) -> Iterator[Envelope | Rejection]:
        where = f"{event.spec} event #{event.seq}"
        payload = event.payload
        if event.spec == "xapi":
            target = xapi.voided_target(payload)
            if target:
                yield Envelope(_deletion(self.key, target), where, None)
                return
        if event.voided:
            self._skip("voided")
            return
        try:
            converted = (xapi.to_records(payload, source=self.key,
                                         home_page=self.settings.account_home_page)
                         if event.spec == "xapi" else caliper.to_records(
                             payload, source=self.key,
                             person_prefix=self.settings.person_iri_prefix))
        except Exception as exc:  # one odd event must never block the provider's later ones
            reason = exc.message if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
            yield Rejection(where, None, "", f"could not be read as evidence: {reason}",
                            str(payload.get("id", ""))[:255])
            return
        if isinstance(converted, str):
            self._skip(converted)
            return
        item, score = converted
        yield Envelope(item, where, None)
        yield Envelope(score, where, None)

    def _skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


def _deletion(source: str, statement_id: str) -> Score:
    """A voided statement's score, by its key alone (staging deletes by key)."""
    return Score(source_system=source, sourced_id=statement_id, item_sourced_id="",
                 student=StudentRef("sourced_id", ""), score=None, status="", scored_at=None,
                 deleted=True)
