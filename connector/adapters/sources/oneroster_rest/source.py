"""Pull rosters and gradebook from a OneRoster 1.1 or 1.2 REST provider.

Each collection is read page by page (``limit``/``offset``, following a
``Link: rel="next"`` when the server gives one, never to another host) in
dependency order, so staging sees orgs before classes and line items before
results (and, in 1.2, assessment line items and results: scored evidence not
tied to one class). Incremental pulls ask only for what changed after the newest
``dateLastModified`` the last complete pull saw (decision 0011 on why ``>``).
``status: tobedeleted`` deletes a result, an enrollment, or a line item with
its scores. Score scales (1.2) are read in full on every pull: they are small,
and a result that carries only a ``textScore`` takes its number from its scale
(the result's own, else its line item's).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import fields, validate

from connector.adapters.base import Envelope, SourceAdapter
from connector.adapters.clients import api_client
from connector.adapters.csvfiles import CsvRow
from connector.adapters.http.client import HttpClient, json_object
from connector.adapters.http.paging import OffsetPager
from connector.adapters.oneroster import parse
from connector.adapters.oneroster.flatten import (
    flatten,
    objective_ids,
    objective_results,
    text,
)
from connector.adapters.options import ApiOptions, ApiSettings
from connector.adapters.values import parse_float
from connector.domain.records import Record, ScoreObjective
from connector.errors import DataError, Rejection

ROSTER_SCOPES = ("https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly",
                 "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly",
                 "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.readonly")
V11_SCOPES = ("https://purl.imsglobal.org/spec/or/v1p1/scope/roster.readonly",
              "https://purl.imsglobal.org/spec/or/v1p1/scope/gradebook.readonly")
#: (collection, path under the version root) in dependency order.
COLLECTIONS_12 = (
    ("orgs", "rostering/v1p2/orgs"), ("academicSessions", "rostering/v1p2/academicSessions"),
    ("courses", "rostering/v1p2/courses"), ("classes", "rostering/v1p2/classes"),
    ("users", "rostering/v1p2/users"), ("enrollments", "rostering/v1p2/enrollments"),
    ("categories", "gradebook/v1p2/categories"), ("scoreScales", "gradebook/v1p2/scoreScales"),
    ("lineItems", "gradebook/v1p2/lineItems"),
    ("results", "gradebook/v1p2/results"),
    ("assessmentLineItems", "gradebook/v1p2/assessmentLineItems"),
    ("assessmentResults", "gradebook/v1p2/assessmentResults"),
)
COLLECTIONS_11 = tuple((name, "v1p1/" + name) for name in (
    "orgs", "academicSessions", "courses", "classes", "users", "enrollments", "categories",
    "lineItems", "results"))
#: Collections that are lookups for the ones after them, not records: always read in full.
LOOKUPS = frozenset({"scoreScales"})


class OneRosterRestOptions(ApiOptions):
    #: The OneRoster version the provider speaks.
    version = fields.String(load_default="1.2", validate=validate.OneOf(["1.1", "1.2"]))
    #: ``limit`` asked per page; providers may cap it lower.
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000))
    #: After the first pull, ask only for what changed since (``dateLastModified``); off
    #: reads every collection in full each run.
    incremental = fields.Boolean(load_default=True)
    #: Read only these collections (``users``, ``lineItems``, ``results``, ...); empty reads all.
    collections = fields.List(fields.String(), load_default=None)


@dataclass(frozen=True, kw_only=True)
class OneRosterRestSettings(ApiSettings):
    """:class:`OneRosterRestOptions`, typed."""

    version: str
    page_size: int
    incremental: bool
    collections: Sequence[str] | None


class OneRosterRestSource(SourceAdapter):
    """A OneRoster REST provider (a SIS, ClassLink, an LMS's OneRoster endpoint)."""

    kind = "oneroster_rest"
    vendor = "OneRoster"
    options_schema = OneRosterRestOptions
    settings_type = OneRosterRestSettings
    settings: OneRosterRestSettings
    #: A line item without resultValueMax says nothing of its scale: 15 is not 15%.
    scores_without_maximum = "reject"

    def __init__(self, key: str, options: Mapping[str, Any], context: Any) -> None:
        super().__init__(key, options, context)
        self._resume: dict[str, str] = {}
        self._newest: dict[str, str] = {}
        #: scoreScale sourcedId -> {text score, lower case: number}; line item -> its scale.
        self._scales: dict[str, dict[str, float]] = {}
        self._item_scales: dict[str, str] = {}

    def resume_from(self, cursor: Mapping[str, Any]) -> None:
        self._resume = ({k: str(v) for k, v in cursor.items()}
                        if self.settings.incremental else {})

    def cursor(self) -> Mapping[str, Any]:
        return {**self._resume, **self._newest}

    def read_in_full(self) -> None:
        self._resume = {}

    def fingerprint(self) -> str:
        return f"{self.settings.base_url} OneRoster {self.settings.version}"

    def _client(self) -> HttpClient:
        return api_client(self.system, self.settings, self.context,
                          default_token_path="/oauth/token",
                          default_scopes=V11_SCOPES if self.settings.version == "1.1"
                          else ROSTER_SCOPES)

    def check(self) -> str:
        """A token by client credentials, then one org (``GET .../orgs?limit=1``)."""
        version = self.settings.version
        path = "rostering/v1p2" if version != "1.1" else "v1p1"
        http = self._client()
        try:
            answer = http.get(self.settings.base_url.rstrip("/")
                              + f"/ims/oneroster/{path}/orgs", params={"limit": 1})
            orgs = json_object(answer, system=self.system, what="orgs").get("orgs")
        finally:
            http.session.close()
        return (f"signed in to OneRoster {version}; "
                f"{'at least one org' if orgs else 'no org'} readable")

    def read(self) -> Iterator[Envelope | Rejection]:
        version = self.settings.version
        http = self._client()
        root = self.settings.base_url.rstrip("/") + "/ims/oneroster/"
        wanted = self.settings.collections
        src, tz = self.key, self.context.timezone
        parsers: dict[str, Callable[[CsvRow, Mapping[str, Any]], Record]] = {
            "orgs": lambda r, _o: parse.org(r, src),
            "academicSessions": lambda r, _o: parse.academic_session(r, src),
            "courses": lambda r, _o: parse.course(r, src),
            "classes": lambda r, _o: parse.class_section(r, src),
            "users": lambda r, _o: parse.person(r, src, r.get("role") or "unknown"),
            "enrollments": lambda r, _o: parse.enrollment(r, src),
            "categories": lambda r, _o: parse.category(r, src),
            "lineItems": lambda r, o: parse.line_item(self._scaled_item(r), src, tz,
                                                      objective_ids(o)),
            "results": lambda r, _o: parse.result(self._scored(r), src, tz),
            "assessmentLineItems": lambda r, o: parse.assessment_line_item(
                self._scaled_item(r), src, tz, objective_ids(o)),
            "assessmentResults": lambda r, _o: parse.assessment_result(self._scored(r), src, tz),
        }
        try:
            for name, path in COLLECTIONS_11 if version == "1.1" else COLLECTIONS_12:
                if name in LOOKUPS:
                    if not wanted or {"results", "assessmentResults"} & set(wanted):
                        self._scales = score_scales(self._objects(http, root + path, name))
                    continue
                if wanted and name not in wanted:
                    continue
                yield from self._collection(http, root + path, name, parsers[name])
        finally:
            http.session.close()

    # -- internals ---------------------------------------------------------------

    def _collection(self, http: Any, url: str, name: str,
                    parser: Callable[[CsvRow, Mapping[str, Any]], Record]
                    ) -> Iterator[Envelope | Rejection]:
        label = f"{name} (OneRoster REST)"
        seen: set[str] = set()
        index = 0
        for obj in self._objects(http, url, name):
            index += 1
            row = CsvRow(label, index, flatten(obj))
            key = row.get("sourcedId")
            modified = row.get("dateLastModified")
            if modified and modified > self._newest.get(name, ""):
                self._newest[name] = modified
            if key and key in seen:
                continue  # the same object on two pages (the data moved while we paged)
            try:
                record = parser(row, obj)
            except DataError as exc:
                yield Rejection(label, index, str(exc.context.get("field", "")), exc.message, key)
                continue
            seen.add(key)
            yield Envelope(record, label, index)
            if name in ("results", "assessmentResults"):
                yield from self._objective_scores(obj, key, label, index)

    def _scaled_item(self, row: CsvRow) -> CsvRow:
        """Remember the item's score scale, for its results that carry only a text score."""
        scale = row.get("scoreScaleSourcedId")
        if scale:
            self._item_scales[row.get("sourcedId")] = scale
        return row

    def _scored(self, row: CsvRow) -> CsvRow:
        """A result with a textScore and no score gets the number its score scale gives it."""
        if row.get("score") or not row.get("textScore"):
            return row
        item = row.get("lineItemSourcedId") or row.get("assessmentLineItemSourcedId")
        scale = row.get("scoreScaleSourcedId") or self._item_scales.get(item, "")
        number = self._scales.get(scale, {}).get(row.get("textScore").strip().lower())
        if number is None:
            return row  # the source's score_conversion in config may still place it
        return CsvRow(row.file, row.row, {**row.values, "score": text(number)})

    def _objective_scores(self, obj: Mapping[str, Any], result_id: str, label: str,
                          index: int) -> Iterator[Envelope | Rejection]:
        scale = self._scales.get(flatten(obj).get("scoreScaleSourcedId", ""), {})
        for ref, score, text_score in objective_results(obj):
            if not score and text_score and text_score.strip().lower() in scale:
                score = text(scale[text_score.strip().lower()])
            try:
                value = parse_float(score, "learningObjectiveResults.score")
            except DataError as exc:
                yield Rejection(label, index, "learningObjectiveSet", exc.message, result_id)
                continue
            yield Envelope(ScoreObjective(self.key, f"{result_id}:{ref.identifier}", result_id,
                                          ref, value, text_score), label, index)

    def _objects(self, http: Any, url: str, name: str) -> Iterator[Mapping[str, Any]]:
        params: dict[str, Any] = {}
        since = None if name in LOOKUPS else self._resume.get(name)
        if since:
            params["filter"] = f"dateLastModified>'{since}'"
        pager = OffsetPager(http, system=self.system, what=name, size=self.settings.page_size)
        return pager.entries(url, name, params)


def score_scales(objects: Iterator[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Each active scale's text values with their numbers.

    1.2 pairs a label (``itemValueLHS``, "Proficient") with its value
    (``itemValueRHS``, "3"). Some providers write the pair the other way round, so a
    numeric left side with a text right side is read reversed. Pairs with no number
    on either side (a letter against a range, "B" / "80-89") are left out: which number
    a range stands for is the district's call, made in its ``score_conversion``.
    """
    scales: dict[str, dict[str, float]] = {}
    for obj in objects:
        if obj.get("status") == "tobedeleted" or not obj.get("sourcedId"):
            continue
        values: dict[str, float] = {}
        for pair in obj.get("scoreScaleValue") or []:
            if not isinstance(pair, Mapping):
                continue
            left, right = text(pair.get("itemValueLHS")).strip(), text(
                pair.get("itemValueRHS")).strip()
            for label, number in ((left, right), (right, left)):
                value = _number(number)
                if label and value is not None and _number(label) is None:
                    values.setdefault(label.lower(), value)
                    break
        scales[text(obj["sourcedId"])] = values
    return scales


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


