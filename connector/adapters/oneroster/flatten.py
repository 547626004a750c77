"""Flatten OneRoster REST/JSON objects to the CSV binding's columns (pure).

References (``{"href", "sourcedId", "type"}``) become ``...SourcedId`` columns,
lists of references comma-separated ``...SourcedIds``, booleans "true"/"false"
and numbers their text, exactly as a CSV export would carry them. 1.1 and 1.2
names are both accepted; where the binding and vendor renderings disagree on a
shape (learning-objective sets), both are read (decision 0011).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.domain.records import LearningObjectiveRef

#: JSON member -> CSV column, for references to one other object.
REFERENCES = {
    "parent": "parentSourcedId", "course": "courseSourcedId", "school": "schoolSourcedId",
    "org": "orgSourcedId", "schoolYear": "schoolYearSourcedId", "class": "classSourcedId",
    "user": "userSourcedId", "category": "categorySourcedId",
    "gradingPeriod": "academicSessionSourcedId", "academicSession": "academicSessionSourcedId",
    "lineItem": "lineItemSourcedId", "student": "studentSourcedId",
    "scoreScale": "scoreScaleSourcedId", "primaryOrg": "primaryOrgSourcedId",
    "assessmentLineItem": "assessmentLineItemSourcedId",
    "parentAssessmentLineItem": "parentSourcedId",
}
#: JSON member -> CSV column, for lists of references.
REFERENCE_LISTS = {"terms": "termSourcedIds", "orgs": "orgSourcedIds"}


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(text(v) for v in value)
    return str(value)


def sourced_id(value: Any) -> str:
    if isinstance(value, Mapping):
        return text(value.get("sourcedId"))
    return text(value)


def flatten(obj: Mapping[str, Any]) -> dict[str, str]:
    """One REST object as the CSV row the same record would be."""
    row: dict[str, str] = {}
    for name, value in obj.items():
        if name in REFERENCES and isinstance(value, Mapping):
            row[REFERENCES[name]] = sourced_id(value)
        elif name in REFERENCE_LISTS and isinstance(value, list):
            row[REFERENCE_LISTS[name]] = ",".join(sourced_id(v) for v in value)
        elif name == "roles" and isinstance(value, list):
            role, org = primary_role(value)
            row["role"], row["orgSourcedIds"] = role, row.get("orgSourcedIds") or org
        elif isinstance(value, Mapping | list) and name != "learningObjectiveSet":
            if isinstance(value, list) and all(not isinstance(v, Mapping) for v in value):
                row[name] = text(value)  # grades, subjects: plain lists of strings
        elif name != "learningObjectiveSet":
            row[name] = text(value)
    return row


def primary_role(roles: list[Any]) -> tuple[str, str]:
    """1.2 users carry roles as a list; the primary one (else the first) is the user's role."""
    chosen = None
    for entry in roles:
        if not isinstance(entry, Mapping):
            continue
        if chosen is None or entry.get("roleType") == "primary":
            chosen = entry
            if entry.get("roleType") == "primary":
                break
    if chosen is None:
        return "", ""
    return text(chosen.get("role")), sourced_id(chosen.get("org"))


def objective_ids(obj: Mapping[str, Any]) -> tuple[LearningObjectiveRef, ...]:
    """A line item's aligned objectives: ids as strings (1EdTech) or as objects (vendors)."""
    out: list[LearningObjectiveRef] = []
    for group in _sets(obj):
        source = text(group.get("source")) or "case"
        for entry in group.get("learningObjectiveIds") or []:
            identifier = (text(entry.get("learningObjectiveId")) if isinstance(entry, Mapping)
                          else text(entry))
            if identifier:
                out.append(LearningObjectiveRef(source, identifier))
    return tuple(out)


def objective_results(obj: Mapping[str, Any]) -> list[tuple[LearningObjectiveRef, str, str]]:
    """A result's per-objective scores: (objective, score text, textScore).

    1EdTech puts them in ``learningObjectiveResults``; some vendor renderings put
    the same objects in ``learningObjectiveIds``. Both are read.
    """
    out: list[tuple[LearningObjectiveRef, str, str]] = []
    for group in _sets(obj):
        source = text(group.get("source")) or "case"
        entries = group.get("learningObjectiveResults") or [
            e for e in group.get("learningObjectiveIds") or [] if isinstance(e, Mapping)]
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            identifier = text(entry.get("learningObjectiveId"))
            if identifier:
                out.append((LearningObjectiveRef(source, identifier), text(entry.get("score")),
                            text(entry.get("textScore"))))
    return out


def _sets(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = obj.get("learningObjectiveSet")
    if isinstance(value, Mapping):  # a single set object instead of a list: seen in the wild
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, Mapping)]
    return []
