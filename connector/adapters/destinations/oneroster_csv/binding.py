"""OneRoster 1.2 CSV binding: file names and header rows, in the binding's column order.

Source: 1EdTech OneRoster 1.2.1 CSV Binding, cross-checked against
implementations that pass the 1EdTech conformance corpus (see
docs/decisions/0003-oneroster-results-bundle.md).
"""

from __future__ import annotations

HEADERS: dict[str, tuple[str, ...]] = {
    "categories.csv": ("sourcedId", "status", "dateLastModified", "title", "weight"),
    "lineItems.csv": (
        "sourcedId", "status", "dateLastModified", "title", "description", "assignDate",
        "dueDate", "classSourcedId", "categorySourcedId", "academicSessionSourcedId",
        "resultValueMin", "resultValueMax", "schoolSourcedId",
    ),
    "results.csv": (
        "sourcedId", "status", "dateLastModified", "lineItemSourcedId", "studentSourcedId",
        "scoreStatus", "score", "scoreDate", "comment", "textScore", "classSourcedId",
        "inProgress", "incomplete", "late", "missing",
    ),
    "lineItemLearningObjectiveIds.csv": (
        "sourcedId", "status", "dateLastModified", "lineItemSourcedId", "source",
        "learningObjectiveId",
    ),
    "resultLearningObjectiveIds.csv": (
        "sourcedId", "status", "dateLastModified", "resultSourcedId", "source",
        "learningObjectiveId", "score", "textScore",
    ),
}

#: Every file.* key of a 1.2 manifest, in the order the binding lists them.
MANIFEST_FILES = (
    "academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
    "demographics", "enrollments", "lineItemLearningObjectiveIds", "lineItems",
    "lineItemScoreScales", "orgs", "resources", "resultLearningObjectiveIds", "results",
    "resultScoreScales", "roles", "scoreScales", "userProfiles", "userResources", "users",
)
