"""OneRoster 1.2 gradebook REST destination: PUT by deterministic sourcedId, read back.

Every write is ``PUT /ims/oneroster/gradebook/v1p2/{resource}/{sourcedId}`` with
the record wrapped as the binding requires (``{"result": {...}}``); PUT is
idempotent, so a push rerun after an interruption rewrites the same records
under the same ids instead of duplicating them. A record whose status is
``tobedeleted`` counts as absent, as the binding's delete semantics make it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from marshmallow import fields, validate

from connector.adapters.base import PushPlan
from connector.adapters.destinations.oneroster_rest import bodies
from connector.adapters.destinations.records import (
    Answer,
    HttpRecordClient,
    PushContext,
    RecordDestination,
    RemoteRecord,
)
from connector.adapters.options import PushOptions, PushSettings

GRADEBOOK = "/ims/oneroster/gradebook/v1p2"
#: Read a line item's results in one listing when a batch holds at least this many of them.
GROUP_READ_THRESHOLD = 5
LISTING_PAGE = 1000
SCOPES = (
    "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.readonly",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.createput",
    "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.delete",
)
#: The JSON member each resource's single record is wrapped in.
WRAPPERS = {
    "categories": "category", "scoreScales": "scoreScale", "lineItems": "lineItem",
    "results": "result", "assessmentLineItems": "assessmentLineItem",
    "assessmentResults": "assessmentResult",
}


class OneRosterRestOptions(PushOptions):
    #: ``results``: per class, a line item per competency and a result per student;
    #: ``assessment``: one assessment line item per competency for the district, for a SIS
    #: that keeps mastery apart from class gradebooks.
    layout = fields.String(load_default="results",
                           validate=validate.OneOf(["results", "assessment"]))
    #: The title of the gradebook category the line items go in.
    category_title = fields.String(load_default="Competency mastery")


@dataclass(frozen=True, kw_only=True)
class OneRosterRestSettings(PushSettings):
    """:class:`OneRosterRestOptions`, typed."""

    layout: str
    category_title: str


class OneRosterRestDestination(RecordDestination):
    """Pushes mastery as OneRoster 1.2 gradebook records with CASE learning-objective results."""

    kind = "oneroster_rest"
    options_schema = OneRosterRestOptions
    settings_type = OneRosterRestSettings
    settings: OneRosterRestSettings
    system = "OneRoster destination"
    api_path = GRADEBOOK
    scopes = SCOPES
    check_collection = ("categories", "gradebook category")
    server_fields = RecordDestination.server_fields | {"dateLastModified", "href", "type",
                                                       "metadata"}

    def desired(self, plan: PushPlan, context: PushContext) -> list[RemoteRecord]:
        return bodies.records(plan.results, context, layout=self.settings.layout,
                              category_title=self.settings.category_title)


class OneRosterRecords(HttpRecordClient):
    def _url(self, resource: str, sourced_id: str) -> str:
        return f"{self.root}/{resource}/{quote(sourced_id, safe='')}"

    def read(self, record: RemoteRecord) -> Answer:
        response = self.http.send("GET", self._url(record.resource, record.remote_id))
        if response.status_code == 404:
            return Answer(True, 404, body=None)
        if response.status_code != 200:
            return Answer(False, response.status_code, status_message(response))
        body = _unwrap(response, WRAPPERS[record.resource])
        if body is None:
            return Answer(False, 200, "the answer did not hold a "
                          f"{WRAPPERS[record.resource]!r} object")
        if body.get("status") == "tobedeleted":
            return Answer(True, 200, body=None)
        return Answer(True, 200, body=body)

    def read_many(self, records: Sequence[RemoteRecord]) -> dict[str, Answer]:
        """A line item's results in one listing, not one request each.

        ``GET /classes/{class}/lineItems/{lineItem}/results`` (paged) is the binding's
        own endpoint for it; used when a batch holds several results of one line item.
        """
        by_item: dict[str, list[RemoteRecord]] = defaultdict(list)
        for record in records:
            if record.resource == "results" and "/" in record.group:
                by_item[record.group].append(record)
        found: dict[str, Answer] = {}
        for group, members in by_item.items():
            if len(members) < GROUP_READ_THRESHOLD:
                continue
            klass, item = group.split("/", 1)
            held = self._listing(f"{self.root}/classes/{quote(klass, safe='')}/lineItems/"
                                 f"{quote(item, safe='')}/results")
            if held is None:
                continue
            for record in members:
                body = held.get(record.remote_id)
                gone = body is None or body.get("status") == "tobedeleted"
                found[record.key] = Answer(True, 200, body=None if gone else body)
        return found

    def _listing(self, url: str) -> dict[str, dict[str, Any]] | None:
        """Every result a listing holds, by sourcedId; None if it cannot be read whole."""
        next_url: str | None = url
        params: dict[str, Any] = {"limit": LISTING_PAGE, "offset": 0}
        host = urlsplit(url).netloc
        held: dict[str, dict[str, Any]] = {}
        for _page in range(10_000):
            if next_url is None:
                return held
            response = self.http.send("GET", next_url, params=params)
            if response.status_code != 200:
                return None  # the caller reads record by record and reports what it finds
            try:
                items = response.json().get("results")
            except (ValueError, AttributeError):
                return None
            if not isinstance(items, list):
                return None
            for item in items:
                if isinstance(item, Mapping) and item.get("sourcedId"):
                    held[str(item["sourcedId"])] = dict(item)
            link = response.links.get("next", {}).get("url")
            if link and items and urlsplit(link).netloc in ("", host):
                next_url, params = link, {}
            elif not link and params and len(items) == params["limit"]:
                params = {**params, "offset": int(params["offset"]) + len(items)}
            else:
                next_url = None
        return None

    def write(self, record: RemoteRecord) -> Answer:
        body = {**record.body, "sourcedId": record.remote_id,
                "dateLastModified": bodies.iso(datetime.now(UTC))}
        response = self.http.send("PUT", self._url(record.resource, record.remote_id),
                                  json={WRAPPERS[record.resource]: body})
        if 200 <= response.status_code < 300:
            return Answer(True, response.status_code, remote_id=record.remote_id)
        return Answer(False, response.status_code, status_message(response))

    def put_back(self, resource: str, remote_id: str, body: Mapping[str, Any]) -> Answer:
        """The before-image exactly as read, its dateLastModified included."""
        response = self.http.send("PUT", self._url(resource, remote_id),
                                  json={WRAPPERS[resource]: dict(body)})
        if 200 <= response.status_code < 300:
            return Answer(True, response.status_code, remote_id=remote_id)
        return Answer(False, response.status_code, status_message(response))

    def delete(self, resource: str, remote_id: str) -> Answer:
        response = self.http.send("DELETE", self._url(resource, remote_id))
        if response.status_code in (200, 204, 404):
            return Answer(True, response.status_code)
        return Answer(False, response.status_code, status_message(response))



OneRosterRestDestination.client_class = OneRosterRecords

def _unwrap(response: requests.Response, wrapper: str) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    inner = payload.get(wrapper) if isinstance(payload, Mapping) else None
    return dict(inner) if isinstance(inner, Mapping) else None


def status_message(response: requests.Response) -> str:
    """The server's own words: imsx_description (with codeMinor), or the start of the body."""
    try:
        payload = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if isinstance(payload, Mapping) and isinstance(payload.get("imsx_StatusInfo"), Mapping):
        payload = payload["imsx_StatusInfo"]  # some providers wrap the status object
    if isinstance(payload, Mapping):
        text = payload.get("imsx_description") or payload.get("message") or ""
        minor = payload.get("imsx_CodeMinor") or payload.get("imsx_codeMinor") or {}
        fields_ = minor.get("imsx_codeMinorField", []) if isinstance(minor, Mapping) else []
        codes = [f.get("imsx_codeMinorFieldValue", "") for f in fields_ if isinstance(f, Mapping)]
        if codes:
            text = f"{text} ({', '.join(c for c in codes if c)})"
        if text:
            return f"HTTP {response.status_code}: {text}"
    return f"HTTP {response.status_code}: {str(payload)[:300]}"
