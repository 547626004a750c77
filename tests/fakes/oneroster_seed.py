"""Turn a OneRoster 1.2 CSV bundle into the REST/JSON objects a provider would serve.

Written independently of the connector's flattener, from the binding's JSON
shapes: references become GUIDRefs ``{href, sourcedId, type}``, multi-valued
cells become arrays, users carry their ``roles`` array, line items and results
carry ``learningObjectiveSet`` in the 1EdTech shape (or, with
``vendor_shape=True``, objects inside ``learningObjectiveIds`` as the vendor
rendering in shared/reference has it). Empty cells are left out.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

STAMP = "2026-01-15T12:00:00.000Z"
#: CSV column -> (JSON member, referenced type, href path).
REFS = {
    "parentSourcedId": ("parent", "org", "rostering/v1p2/orgs"),
    "courseSourcedId": ("course", "course", "rostering/v1p2/courses"),
    "schoolSourcedId": ("school", "org", "rostering/v1p2/orgs"),
    "orgSourcedId": ("org", "org", "rostering/v1p2/orgs"),
    "schoolYearSourcedId": ("schoolYear", "academicSession", "rostering/v1p2/academicSessions"),
    "classSourcedId": ("class", "class", "rostering/v1p2/classes"),
    "userSourcedId": ("user", "user", "rostering/v1p2/users"),
    "categorySourcedId": ("category", "category", "gradebook/v1p2/categories"),
    "academicSessionSourcedId": ("academicSession", "academicSession",
                                 "rostering/v1p2/academicSessions"),
    "lineItemSourcedId": ("lineItem", "lineItem", "gradebook/v1p2/lineItems"),
    "studentSourcedId": ("student", "user", "rostering/v1p2/users"),
    "primaryOrgSourcedId": ("primaryOrg", "org", "rostering/v1p2/orgs"),
}
LISTS = {"grades", "subjects", "subjectCodes", "periods", "userIds"}


def guid_ref(kind: str, path: str, sourced_id: str) -> dict[str, str]:
    return {"href": f"/ims/oneroster/{path}/{sourced_id}", "sourcedId": sourced_id, "type": kind}


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    path = folder / name
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _object(row: dict[str, str]) -> dict[str, Any]:
    obj: dict[str, Any] = {"status": row.get("status") or "active",
                           "dateLastModified": row.get("dateLastModified") or STAMP}
    for column, value in row.items():
        if column in ("status", "dateLastModified") or value in ("", None):
            continue
        if column in REFS:
            member, kind, path = REFS[column]
            obj[member] = guid_ref(kind, path, value)
        elif column == "termSourcedIds":
            obj["terms"] = [guid_ref("academicSession", "rostering/v1p2/academicSessions", v)
                            for v in value.split(",")]
        elif column in LISTS:
            obj[column] = [v.strip() for v in value.strip("{}").split(",") if v.strip()]
        elif column in ("resultValueMin", "resultValueMax", "score", "weight"):
            obj[column] = float(value)
        else:
            obj[column] = value
    return obj


def rest_objects(folder: Path, *, vendor_shape: bool = False) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for name in ("orgs", "academicSessions", "courses", "classes", "enrollments", "categories",
                 "demographics"):
        out[name] = [_object(r) for r in _rows(folder, f"{name}.csv")]
    roles: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in _rows(folder, "roles.csv"):
        roles[r["userSourcedId"]].append({
            "roleType": r["roleType"], "role": r["role"],
            "org": guid_ref("org", "rostering/v1p2/orgs", r["orgSourcedId"])})
    users = []
    for r in _rows(folder, "users.csv"):
        obj = _object(r)
        obj["roles"] = roles.get(r["sourcedId"], [])
        users.append(obj)
    out["users"] = users
    item_objectives: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in _rows(folder, "lineItemLearningObjectiveIds.csv"):
        item_objectives[r["lineItemSourcedId"]].append((r["source"], r["learningObjectiveId"]))
    items = []
    for r in _rows(folder, "lineItems.csv"):
        obj = _object(r)
        groups: dict[str, list[Any]] = defaultdict(list)
        for source, identifier in item_objectives.get(r["sourcedId"], []):
            groups[source].append({"learningObjectiveId": identifier} if vendor_shape
                                  else identifier)
        if groups:
            obj["learningObjectiveSet"] = [{"source": s, "learningObjectiveIds": ids}
                                           for s, ids in groups.items()]
        items.append(obj)
    out["lineItems"] = items
    result_objectives: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in _rows(folder, "resultLearningObjectiveIds.csv"):
        result_objectives[r["resultSourcedId"]].append(r)
    results = []
    for r in _rows(folder, "results.csv"):
        obj = _object(r)
        groups = defaultdict(list)
        for lo in result_objectives.get(r["sourcedId"], []):
            entry: dict[str, Any] = {"learningObjectiveId": lo["learningObjectiveId"]}
            if lo.get("score"):
                entry["score"] = float(lo["score"])
            if lo.get("textScore"):
                entry["textScore"] = lo["textScore"]
            groups[lo["source"]].append(entry)
        if groups:
            member = "learningObjectiveIds" if vendor_shape else "learningObjectiveResults"
            obj["learningObjectiveSet"] = [{"source": s, member: entries}
                                           for s, entries in groups.items()]
        results.append(obj)
    out["results"] = results
    return out
