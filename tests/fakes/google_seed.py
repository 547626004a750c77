"""A Google Classroom domain for the sample district, and a service account to read it.

Each SIS class is a Classroom course with the domain alias ``d:<class id>``; its
students carry their roster email on their profile; each course has graded
course work with returned grades (the shared district's tasks and marks,
tests/fakes/lms_district.py), one ungraded item and one draft.
"""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.google_server import FakeClassroom
from tests.fakes.lms_district import POINTS, due, iso, marks, title

ADMIN = "sync-admin@cedar-ridge.example"


def service_account(token_uri: str) -> tuple[str, str]:
    """(the key file's JSON, the public key PEM) of a fresh service account."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    info = {"type": "service_account", "project_id": "cedar-ridge-sync",
            "private_key_id": "0123456789abcdef", "private_key": private,
            "client_email": "connector@cedar-ridge-sync.iam.gserviceaccount.com",
            "client_id": "104857600000000000001", "token_uri": token_uri}
    return json.dumps(info), public


def emails(oneroster: Path) -> dict[str, str]:
    with (oneroster / "users.csv").open(newline="", encoding="utf-8") as handle:
        return {row["sourcedId"]: row["email"] for row in csv.DictReader(handle)}


def seed(fake: FakeClassroom, plan: dict[str, tuple[list[str], list[str]]],
         email_of: dict[str, str], *, graded: int = 3, seed_value: int = 2026) -> None:
    """The shared district's tasks and marks, plus an ungraded item and a draft per course."""
    common = marks(plan, tasks=graded, seed_value=seed_value)
    user_ids: dict[str, str] = {}
    for number, (klass, (students, _competencies)) in enumerate(sorted(plan.items())):
        course_id = str(600000000000 + number)
        fake.courses[course_id] = {
            "id": course_id, "name": f"Course {klass}", "section": "Period 1",
            "ownerId": "100000000000000000001", "courseState": "ACTIVE",
            "creationTime": "2025-08-20T16:00:00.000Z", "updateTime": "2025-08-20T16:00:00.000Z",
            "alternateLink": f"https://classroom.google.com/c/{course_id}"}
        fake.aliases[course_id] = [f"d:{klass}", "p:teacher-copy"]
        fake.students[course_id] = []
        for sis in students:
            uid = user_ids.setdefault(sis, str(110000000000000000000 + len(user_ids)))
            fake.students[course_id].append({
                "courseId": course_id, "userId": uid,
                "profile": {"id": uid, "name": {"givenName": "Student", "familyName": uid,
                                                "fullName": f"Student {uid}"},
                            "emailAddress": email_of[sis]}})
        work = []
        for k in range(graded + 2):
            wid = f"{course_id}{k:03d}"
            when = due(number, k)
            entry: dict[str, Any] = {
                "courseId": course_id, "id": wid, "title": title(klass, k),
                "state": "PUBLISHED", "workType": "ASSIGNMENT", "maxPoints": POINTS,
                "creationTime": "2025-08-25T16:00:00.000Z",
                "updateTime": iso(when - timedelta(days=3)),
                "dueDate": {"year": when.year, "month": when.month, "day": when.day},
                "dueTime": {"hours": when.hour, "minutes": when.minute}}
            if k == graded:
                entry.pop("maxPoints")  # ungraded: not evidence
            if k == graded + 1:
                entry["state"] = "DRAFT"
            work.append(entry)
        fake.course_work[course_id] = work
        subs = []
        for k, entry in enumerate(work):
            for sis in students:
                uid = user_ids[sis]
                sub: dict[str, Any] = {
                    "courseId": course_id, "courseWorkId": entry["id"],
                    "id": f"Cg{entry['id']}{uid[-4:]}", "userId": uid,
                    "creationTime": "2025-09-01T16:00:00.000Z",
                    "updateTime": entry["updateTime"], "state": "TURNED_IN",
                    "courseWorkType": "ASSIGNMENT", "associatedWithDeveloper": False}
                if k < graded:
                    mark = common[(klass, k, sis)]
                    sub.update(state="RETURNED", assignedGrade=mark.points,
                               draftGrade=mark.points, updateTime=iso(mark.graded_at))
                subs.append(sub)
        fake.submissions[course_id] = subs


def expected_scores(fake: FakeClassroom, sis_of: dict[str, str]) -> dict[str, tuple[str, str,
                                                                                   float]]:
    """Score key -> (course work, student SIS id, points): returned grades on graded work."""
    out = {}
    for course_id, subs in fake.submissions.items():
        work = {w["id"]: w for w in fake.course_work[course_id]}
        for sub in subs:
            entry = work[sub["courseWorkId"]]
            if entry["state"] != "PUBLISHED" or not entry.get("maxPoints"):
                continue
            if "assignedGrade" in sub:
                out[sub["id"]] = (entry["id"], sis_of[sub["userId"]], float(sub["assignedGrade"]))
    return out
