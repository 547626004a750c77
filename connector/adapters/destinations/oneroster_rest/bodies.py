"""The OneRoster 1.2 gradebook records a district's mastery becomes (pure).

Follows the 1EdTech REST/JSON binding where the vendor OpenAPI rendering in
shared/reference differs (decision 0011): a line item's ``learningObjectiveSet``
lists identifier strings, a result's carries ``learningObjectiveResults``.

Two layouts, chosen per destination:

- ``results``: per class a score scale and a line item per competency the class
  assesses, and a result per enrolled student (decision 0003's layout);
- ``assessment``: one assessment line item per competency for the district and
  one assessment result per student and competency, for SISs that keep mastery
  apart from class gradebooks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from connector.adapters.base import OutboundResult
from connector.adapters.destinations.records import PushContext, RemoteRecord

ORDER = {"categories": 0, "scoreScales": 1, "lineItems": 2, "results": 3,
         "assessmentLineItems": 2, "assessmentResults": 3}


def stable_id(*parts: str) -> str:
    """The same record gets the same sourcedId on every push (and after a restore)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "mastery-connector:" + ":".join(parts)))


def iso(moment: datetime) -> str:
    """A UTC instant as the binding writes it: 2026-01-31T17:05:00.000Z."""
    value = moment.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


#: Where each referenced type lives, for the reference's href (the binding requires one).
HREFS = {"class": "rostering/v1p2/classes", "org": "rostering/v1p2/orgs",
         "academicSession": "rostering/v1p2/academicSessions", "user": "rostering/v1p2/users",
         "category": "gradebook/v1p2/categories", "scoreScale": "gradebook/v1p2/scoreScales",
         "lineItem": "gradebook/v1p2/lineItems",
         "assessmentLineItem": "gradebook/v1p2/assessmentLineItems"}


def ref(kind: str, sourced_id: str) -> dict[str, str]:
    """A GUIDRef: href, sourcedId and type, all three required by the binding."""
    return {"href": f"/ims/oneroster/{HREFS[kind]}/{sourced_id}", "sourcedId": sourced_id,
            "type": kind}


def _present(body: dict[str, Any]) -> dict[str, Any]:
    """The binding leaves optional fields out rather than sending null."""
    return {k: v for k, v in body.items() if v is not None and v != ""}


def records(results: Iterable[OutboundResult], context: PushContext, *, layout: str,
            category_title: str) -> list[RemoteRecord]:
    if layout == "assessment":
        return _assessment(results, context)
    return _gradebook(results, context, category_title)


def _record(resource: str, sourced_id: str, body: dict[str, Any], label: str,
            group: str = "", result: OutboundResult | None = None) -> RemoteRecord:
    return RemoteRecord(resource, f"{resource}:{sourced_id}", sourced_id,
                        {"sourcedId": sourced_id, "status": "active", **_present(body)},
                        ORDER[resource], label, group, student_level=result is not None,
                        level=result.score if result is not None else None)


def _scale_values(context: PushContext) -> list[dict[str, str]]:
    return [{"itemValueLHS": label, "itemValueRHS": f"{value:g}"}
            for _code, label, value in context.levels]


def _gradebook(results: Iterable[OutboundResult], context: PushContext,
               category_title: str) -> list[RemoteRecord]:
    district = context.district_key
    category_id = stable_id(district, "category", "mastery")
    out = [_record("categories", category_id, {"title": category_title}, category_title)]
    classes: set[str] = set()
    items: set[str] = set()
    for r in results:
        li = r.line_item
        scale_id = stable_id(district, "scorescale", li.class_sourced_id, context.scale_key)
        if li.class_sourced_id not in classes:
            classes.add(li.class_sourced_id)
            out.append(_record("scoreScales", scale_id, {
                "title": context.scale_name, "type": "proficiency",
                "class": ref("class", li.class_sourced_id), "scoreScaleValue": _scale_values(context),
            }, f"scale for class {li.class_sourced_id}"))
        if li.sourced_id not in items:
            items.add(li.sourced_id)
            body: dict[str, Any] = {
                "title": li.title, "description": li.description,
                "assignDate": iso(li.assign_date), "dueDate": iso(li.due_date),
                "class": ref("class", li.class_sourced_id), "school": ref("org", li.school_sourced_id),
                "category": ref("category", category_id), "scoreScale": ref("scoreScale", scale_id),
                "resultValueMin": li.result_value_min, "resultValueMax": li.result_value_max,
                "learningObjectiveSet": [{"source": "case",
                                          "learningObjectiveIds": [li.competency_identifier]}],
            }
            if li.academic_session_sourced_id:
                body["academicSession"] = ref("academicSession", li.academic_session_sourced_id)
            out.append(_record("lineItems", li.sourced_id, body,
                               f"{li.competency_code or li.competency_identifier} "
                               f"in class {li.class_sourced_id}"))
        out.append(_record("results", r.sourced_id, {
            "lineItem": ref("lineItem", li.sourced_id), "student": ref("user", r.student_sourced_id),
            "class": ref("class", li.class_sourced_id), "scoreScale": ref("scoreScale", scale_id),
            **_score(r, context),
        }, f"{li.competency_code or li.competency_identifier} for student "
           f"{r.student_sourced_id} in class {li.class_sourced_id}",
            group=f"{li.class_sourced_id}/{li.sourced_id}", result=r))
    return out


def _score(r: OutboundResult, context: PushContext) -> dict[str, Any]:
    objective = _present({"learningObjectiveId": r.line_item.competency_identifier,
                          "score": r.score, "textScore": r.text_score})
    return {
        "scoreStatus": r.score_status, "score": r.score, "textScore": r.text_score,
        # A date in the district's calendar (the score date is already local).
        "scoreDate": r.score_date.date().isoformat(),
        "learningObjectiveSet": [{"source": "case", "learningObjectiveResults": [objective]}],
    }


def _assessment(results: Iterable[OutboundResult], context: PushContext) -> list[RemoteRecord]:
    district = context.district_key
    out: list[RemoteRecord] = []
    items: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for r in results:
        li = r.line_item
        competency = li.competency_identifier
        item_id = stable_id(district, "assessmentlineitem", competency)
        if competency not in items:
            items.add(competency)
            out.append(_record("assessmentLineItems", item_id, {
                "title": li.title, "description": li.description,
                "resultValueMin": li.result_value_min, "resultValueMax": li.result_value_max,
                "learningObjectiveSet": [{"source": "case", "learningObjectiveIds": [competency]}],
            }, li.competency_code or competency))
        # Mastery is per student and competency; a student in two classes gets one result.
        if (competency, r.student_sourced_id) in seen:
            continue
        seen.add((competency, r.student_sourced_id))
        result_id = stable_id(district, "assessmentresult", competency, r.student_sourced_id)
        out.append(_record("assessmentResults", result_id, {
            "assessmentLineItem": ref("assessmentLineItem", item_id),
            "student": ref("user", r.student_sourced_id),
            **_score(r, context),
        }, f"{li.competency_code or competency} for student {r.student_sourced_id}", result=r))
    return out
