"""Generate the Cedar Ridge sample district at any size, deterministically.

``connector sample generate --students N --seed S --out DIR`` writes the same
files for the same N and S on every machine: CASE packages, a OneRoster 1.2
CSV export, an adaptive vendor's skill report and a crosswalk. Competency
identifiers do not depend on N or S, so the frameworks are the same at every
size and benchmarks compare like with like.
"""

from __future__ import annotations

import csv
import json
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from connector.sample import high_school
from connector.sample import rows as row
from connector.sample.catalog import DOK_LEVELS, ELA, HABITS, HIGH_SCHOOL, MATH

NAMESPACE = uuid.UUID("6f1c6f0e-4b0b-5c55-9d1e-2b5b7c0d3a11")
TERM_START, TERM_END = date(2025, 8, 25), date(2026, 1, 16)
YEAR_START, YEAR_END = date(2025, 8, 25), date(2026, 6, 5)
SCHOOLS = [("crms", "Cedar Ridge Middle School"), ("jhms", "Juniper Hollow Middle School")]
GRADES = ["06", "07", "08"]
GIVEN = ["Ava", "Mateo", "Noor", "Liam", "Sofia", "Kai", "Amara", "Diego", "Hana", "Elijah",
         "Zoe", "Santiago", "Leila", "Owen", "Yara", "Caleb", "Mei", "Jonah", "Priya", "Rafael",
         "Isla", "Tariq", "Camila", "Ezra", "Nia", "Arjun", "Lucía", "Finn", "Ximena", "Malik"]
FAMILY = ["Alvarez", "Begay", "Chen", "Dubois", "Eriksen", "Fontaine", "Garcia", "Haddad",
          "Iwasaki", "Johansson", "Kowalski", "Lopez", "Mbeki", "Nakamura", "O'Brien", "Patel",
          "Quispe", "Rahman", "Silva", "Tanaka", "Umarov", "Vargas", "Whitehorse", "Yazzie",
          "Zhang", "Nguyen", "Okafor", "Reyes", "Sato", "Novak"]
RACES = row.RACES

CATEGORIES = [("cat-classwork", "Classwork"), ("cat-performance", "Performance Tasks"),
              ("cat-common", "Common Assessments"), ("cat-habits", "Habits of Success"),
              ("cat-capstone", "Capstone Projects")]


@dataclass(frozen=True)
class ItemSpec:
    """A gradebook column every class of a subject gets (ids: li-<class>-<suffix>)."""

    suffix: str
    title: str
    category: str
    max_score: float
    objectives: tuple[str, ...] = ()
    per_objective: bool = False
    week: int = 1


def _targets(tree: Sequence[Any]) -> list[tuple[str, str, int, str]]:
    """(code, statement, DOK, competency code) for every learning target, in order."""
    return [(l_code, text, dok, c_code) for c_code, _, topics in tree
            for _, _, targets in topics for l_code, text, dok in targets]


def subject_items(prefix: str, tree: Sequence[Any], habits: Sequence[tuple[str, str]],
                  extra: str) -> list[ItemSpec]:
    """A term's gradebook for one subject: two or three pieces of evidence per target.

    The alignment mechanisms are mixed on purpose, as in a real export: most items
    carry CASE ids (lineItemLearningObjectiveIds), some have the code in the title,
    some are aligned only by the district's crosswalk, and a few are not
    competency evidence at all and stay unmapped.
    """
    items: list[ItemSpec] = []
    targets = _targets(tree)
    for n, (code, text, dok, _) in enumerate(targets):
        week = 1 + (n * 15) // len(targets)
        short = text.removeprefix("I can ").rstrip(".")
        short = short[0].upper() + short[1:]
        how = n % 3  # 0: code in title, 1: CASE id carried, 2: crosswalk only
        title = f"Practice: {short} ({code})" if how == 0 else f"Practice: {short}"
        items.append(ItemSpec(f"{prefix}-{n + 1:02d}a", title, "cat-classwork", 10,
                              (code,) if how == 1 else (), week=week))
        if dok >= 3:
            items.append(ItemSpec(f"{prefix}-{n + 1:02d}b", f"Performance task: {short}",
                                  "cat-performance", 4, (code,), week=week + 2))
        else:
            items.append(ItemSpec(f"{prefix}-{n + 1:02d}b", f"Quiz: {short}", "cat-classwork", 20,
                                  (code,), week=week + 1))
    for c_code, _, topics in tree:
        covered = tuple(t for t, _, dok, comp in targets if comp == c_code and dok <= 2)[:2]
        if covered:
            week = 1 + (targets.index(next(t for t in targets if t[0] == covered[-1])) * 15
                        ) // len(targets) + 2
            items.append(ItemSpec(f"{prefix}-ca-{c_code.rsplit('.', 1)[1].lower()}",
                                  f"Common assessment: {topics[0][1]}", "cat-common", 4,
                                  covered, per_objective=len(covered) > 1, week=week))
    for n, (_, title) in enumerate(habits):
        items.append(ItemSpec(f"{prefix}-h{n + 1}", title, "cat-habits", 4, week=4 + 5 * n))
    items.append(ItemSpec(f"{prefix}-x1", extra, "cat-classwork", 1, week=3))
    return items


MATH_ITEMS = subject_items("ma", MATH, [("c", "Group work reflection")],
                           "Field trip permission slip")
ELA_ITEMS = subject_items("ela", ELA, [("p", "Revision conference"), ("s", "Goal-setting log")],
                          "Book fair volunteer sign-up")
# Practice Pal (a fictional adaptive vendor) skills: (skill suffix, title, weekly start).
SKILLS = [("RP-1", "Unit rates", 2), ("RP-2", "Identify proportional relationships", 4),
          ("RP-9", "Proportional word problems", 6), ("EE-2", "Solve two-step equations", 9),
          ("SP-1", "Mean, median and range", 13)]
ADAPTIVE_CROSSWALK = [
    ("practice-pal", "PP-*-RP-1", "CR.MA.RP.1.a", "1", "adaptive_practice", "1"),
    ("practice-pal", "PP-*-RP-2", "CR.MA.RP.2.a", "2", "adaptive_practice", "1"),
    ("practice-pal", "PP-*-RP-9", "CR.MA.RP.2.b", "2", "adaptive_practice", "1"),
    ("practice-pal", "PP-*-EE-2", "CR.MA.EE.2.a", "1", "adaptive_practice", "1"),
    ("practice-pal", "PP-*-SP-1", "CR.MA.SP.1.a", "1", "adaptive_practice", "1"),
]
HABIT_CROSSWALK = {"ma-h1": "CR.HOS.C.1", "ela-h1": "CR.HOS.P.2", "ela-h2": "CR.HOS.S.1"}


def crosswalk_rows(*, with_high_school: bool = False) -> list[tuple[str, ...]]:
    """The district's crosswalk: vendor skills, items only the crosswalk aligns, habits."""
    rows: list[tuple[str, ...]] = list(ADAPTIVE_CROSSWALK)
    for prefix, tree in (("ma", MATH), ("ela", ELA)):
        for n, (code, _, _, _) in enumerate(_targets(tree)):
            if n % 3 == 2:
                rows.append(("sis-gradebook", f"li-*-{prefix}-{n + 1:02d}a", code, "", "", "1"))
    for suffix, code in HABIT_CROSSWALK.items():
        rows.append(("sis-gradebook", f"li-*-{suffix}", code, "", "teacher_task", "1"))
    if with_high_school:
        rows += high_school.crosswalk_rows()
    return rows


def case_id(*parts: str) -> str:
    """Stable CASE identifiers: the same code gets the same UUID in every generated sample."""
    return str(uuid.uuid5(NAMESPACE, "case:" + ":".join(parts)))


def generate(out: Path, *, students: int = 150, seed: int = 2026,
             high_school_students: int = 0) -> dict[str, int]:
    """Write the whole sample under ``out``; returns counts of what was written.

    ``students`` are the middle schools'; ``high_school_students`` adds Cedar Ridge High
    School (``connector sample generate`` gives it 200). The middle schools' rows are the
    same either way.
    """
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "case").mkdir(exist_ok=True)
    codes = write_frameworks(out / "case")
    hs = (high_school.rows(random.Random(f"{seed}:high-school"), high_school_students, codes)
          if high_school_students else None)
    counts = write_oneroster(out / "oneroster", rng, students, codes, hs)
    counts["adaptive_rows"] = write_adaptive(out / "adaptive" / "practice-pal-skills.csv", rng,
                                             students)
    write_csv(out / "crosswalk.csv", ("source", "item", "competency", "dok", "evidence_type",
                                      "weight"), crosswalk_rows(with_high_school=hs is not None))
    counts["competencies"] = len(codes)
    # Written with no high school too (header only): the configuration names them.
    write_csv(out / "transfer-credit.csv", ("student", "course", "title", "subject",
                                            "credits", "school", "school_year"),
              hs.transfer_credit if hs else [])
    write_csv(out / "overrides.csv", ("student", "competency", "level", "reason", "by"),
              hs.overrides if hs else [])
    counts["high_school_students"] = high_school_students
    return counts


# ---- CASE -------------------------------------------------------------------------------


def _doc(identifier: str, title: str, version: str, **extra: Any) -> dict[str, Any]:
    uri = f"https://case.cedar-ridge.example/ims/case/v1p{'1' if version == '1.1' else '0'}"
    doc = {"identifier": identifier, "uri": f"{uri}/CFDocuments/{identifier}",
           "creator": "Cedar Ridge School District (fictional)", "title": title,
           "lastChangeDateTime": "2026-06-15T12:00:00+00:00", "language": "en",
           "adoptionStatus": "Adopted", **extra}
    if version == "1.1":
        doc["caseVersion"] = "1.1"
    return doc


def _link(identifier: str, title: str, kind: str = "CFItems") -> dict[str, str]:
    return {"title": title, "identifier": identifier,
            "uri": f"https://case.cedar-ridge.example/ims/case/v1p0/{kind}/{identifier}"}


def _assoc(doc: dict[str, Any], origin: tuple[str, str], kind: str, dest: tuple[str, str],
           seq: int | None = None, dest_kind: str = "CFItems") -> dict[str, Any]:
    identifier = case_id("assoc", doc["identifier"], origin[0], kind, dest[0])
    assoc: dict[str, Any] = {
        "identifier": identifier,
        "uri": f"https://case.cedar-ridge.example/ims/case/v1p0/CFAssociations/{identifier}",
        "lastChangeDateTime": doc["lastChangeDateTime"], "associationType": kind,
        "originNodeURI": _link(*origin), "destinationNodeURI": _link(*dest, kind=dest_kind),
        "CFDocumentURI": _link(doc["identifier"], doc["title"], "CFDocuments"),
    }
    if seq is not None:
        assoc["sequenceNumber"] = seq
    return assoc


def _top_competency(doc: dict[str, Any], types: dict[str, Any], code: str, title: str,
                    grades: list[str], subject: str, seq: int
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A framework's top-level competency and its ``isChildOf`` link to the document."""
    item = _item(doc, code, title, "Competency", grades, subject=[subject],
                 CFItemTypeURI=_link(types["Competency"]["identifier"], "Competency",
                                     "CFItemTypes"))
    return item, _assoc(doc, (item["identifier"], code), "isChildOf",
                        (doc["identifier"], doc["title"]), seq, "CFDocuments")


def _item(doc: dict[str, Any], code: str, statement: str, item_type: str, levels: Sequence[str],
          **extra: Any) -> dict[str, Any]:
    identifier = case_id("item", code)
    return {"identifier": identifier,
            "uri": f"https://case.cedar-ridge.example/ims/case/v1p0/CFItems/{identifier}",
            "lastChangeDateTime": doc["lastChangeDateTime"], "humanCodingScheme": code,
            "fullStatement": statement, "CFItemType": item_type,
            "educationLevel": list(levels), "language": "en",
            "CFDocumentURI": _link(doc["identifier"], doc["title"], "CFDocuments"), **extra}


def write_frameworks(folder: Path) -> dict[str, str]:
    """Write the DOK reference, academic and habits packages; returns code -> identifier."""
    codes: dict[str, str] = {}
    dok_doc = _doc(case_id("doc", "dok"), "Webb's Depth of Knowledge Levels (reference)", "1.0",
                   description="Norman Webb's four levels of cognitive complexity.")
    dok_items = [_item(dok_doc, f"DOK-{n}", f"Level {n}: {name}", "Depth of Knowledge Level", [],
                       abbreviatedStatement=f"Level {n}: {name}") for n, name in DOK_LEVELS]
    dok_assocs = [_assoc(dok_doc, (i["identifier"], i["humanCodingScheme"]), "isChildOf",
                         (dok_doc["identifier"], dok_doc["title"]), n, "CFDocuments")
                  for n, i in enumerate(dok_items, 1)]
    dok_ids = {n: i["identifier"] for (n, _), i in zip(DOK_LEVELS, dok_items, strict=True)}
    _write_json(folder / "webb-dok.json", {"CFDocument": dok_doc, "CFItems": dok_items,
                                           "CFAssociations": dok_assocs, "CFDefinitions": {}})

    doc = _doc(case_id("doc", "math-ela"), "Cedar Ridge Competencies: Mathematics and ELA, "
               "Grades 6-8", "1.1", frameworkType="Competency Framework",
               subject=["Mathematics", "English Language Arts"])
    items, assocs = [], []
    types: dict[str, dict[str, str]] = {}
    for name in ("Competency", "Measurement Topic", "Learning Target"):
        types[name] = {"identifier": case_id("type", name), "title": name,
                       "uri": f"https://case.cedar-ridge.example/ims/case/v1p1/CFItemTypes/"
                              f"{case_id('type', name)}",
                       "description": name, "hierarchyCode": str(len(types) + 1),
                       "typeCode": name.replace(" ", ""),
                       "lastChangeDateTime": doc["lastChangeDateTime"]}
    grades = ["06", "07", "08"]
    for subject, tree in (("Mathematics", MATH), ("English Language Arts", ELA)):
        for c_seq, (c_code, c_title, topics) in enumerate(tree, 1):
            comp, link = _top_competency(doc, types, c_code, c_title, grades, subject, c_seq)
            items.append(comp)
            assocs.append(link)
            for t_seq, (t_code, t_title, targets) in enumerate(topics, 1):
                topic = _item(doc, t_code, t_title, "Measurement Topic", grades,
                              abbreviatedStatement=t_title)
                items.append(topic)
                assocs.append(_assoc(doc, (topic["identifier"], t_code), "isChildOf",
                                     (comp["identifier"], c_code), t_seq))
                for l_seq, (l_code, statement, dok) in enumerate(targets, 1):
                    target = _item(doc, l_code, statement, "Learning Target", grades)
                    items.append(target)
                    assocs.append(_assoc(doc, (target["identifier"], l_code), "isChildOf",
                                         (topic["identifier"], t_code), l_seq))
                    if subject == "Mathematics":
                        assocs.append(_assoc(doc, (target["identifier"], l_code), "hasSkillLevel",
                                             (dok_ids[dok], f"DOK-{dok}")))
                    else:  # how consortium data does it: a placeholder title, resolve by id
                        assocs.append(_assoc(doc, (target["identifier"], l_code), "isRelatedTo",
                                             (dok_ids[dok], "Destination Node")))
    _write_json(folder / "cedar-ridge-math-ela.json", {
        "CFDocument": doc, "CFItems": items, "CFAssociations": assocs,
        "CFDefinitions": {"CFConcepts": [], "CFSubjects": [], "CFLicenses": [],
                          "CFItemTypes": list(types.values()), "CFAssociationGroupings": []},
        "CFRubrics": []})
    codes.update({i["humanCodingScheme"]: i["identifier"] for i in items})

    codes.update(_write_high_school(folder, types, dok_ids))

    grades = ["06", "07", "08", *high_school.GRADES]
    hdoc = _doc(case_id("doc", "habits"), "Cedar Ridge Habits of Success", "1.0")
    hitems, hassocs = [], []
    for c_seq, (c_code, c_title, indicators) in enumerate(HABITS, 1):
        comp = _item(hdoc, c_code, c_title, "Habit", grades)
        hitems.append(comp)
        hassocs.append(_assoc(hdoc, (comp["identifier"], c_code), "isChildOf",
                              (hdoc["identifier"], hdoc["title"]), c_seq, "CFDocuments"))
        for l_seq, (l_code, statement) in enumerate(indicators, 1):
            indicator = _item(hdoc, l_code, statement, "Habit Indicator", grades)
            hitems.append(indicator)
            hassocs.append(_assoc(hdoc, (indicator["identifier"], l_code), "isChildOf",
                                  (comp["identifier"], c_code), l_seq))
    _write_json(folder / "cedar-ridge-habits.json", {"CFDocument": hdoc, "CFItems": hitems,
                                                     "CFAssociations": hassocs})
    codes.update({i["humanCodingScheme"]: i["identifier"] for i in hitems})
    return codes


def _write_high_school(folder: Path, types: dict[str, dict[str, str]],
                       dok_ids: dict[int, str]) -> dict[str, str]:
    """The high school's package: content areas, their course competencies, learning targets."""
    doc = _doc(case_id("doc", "high-school"), "Cedar Ridge High School Competencies, Grades 9-12",
               "1.1", frameworkType="Competency Framework",
               subject=[subject for _, _, subject, _ in HIGH_SCHOOL])
    items, assocs = [], []
    grades = high_school.GRADES
    for a_seq, (a_code, a_title, subject, courses) in enumerate(HIGH_SCHOOL, 1):
        area, link = _top_competency(doc, types, a_code, a_title, grades, subject, a_seq)
        items.append(area)
        assocs.append(link)
        for c_seq, (_, course_title, grade, c_code, c_statement, targets) in enumerate(courses, 1):
            comp = _item(doc, c_code, f"{course_title}: {c_statement}", "Measurement Topic",
                         [grade], abbreviatedStatement=course_title)
            items.append(comp)
            assocs.append(_assoc(doc, (comp["identifier"], c_code), "isChildOf",
                                 (area["identifier"], a_code), c_seq))
            for l_seq, (l_code, statement, dok) in enumerate(targets, 1):
                target = _item(doc, l_code, statement, "Learning Target", [grade])
                items.append(target)
                assocs.append(_assoc(doc, (target["identifier"], l_code), "isChildOf",
                                     (comp["identifier"], c_code), l_seq))
                assocs.append(_assoc(doc, (target["identifier"], l_code), "hasSkillLevel",
                                     (dok_ids[dok], f"DOK-{dok}")))
    _write_json(folder / "cedar-ridge-high-school.json", {
        "CFDocument": doc, "CFItems": items, "CFAssociations": assocs,
        "CFDefinitions": {"CFConcepts": [], "CFSubjects": [], "CFLicenses": [],
                          "CFItemTypes": list(types.values()), "CFAssociationGroupings": []},
        "CFRubrics": []})
    return {i["humanCodingScheme"]: i["identifier"] for i in items}


# ---- OneRoster -----------------------------------------------------------------------------


def write_oneroster(folder: Path, rng: random.Random, students: int,
                    codes: dict[str, str], hs: high_school.Rows | None = None) -> dict[str, int]:
    """The SIS export: the middle schools' rows, then the high school's when given."""
    folder.mkdir(parents=True, exist_ok=True)
    hs = hs or high_school.Rows()
    year, term = "as-2025-26", "as-2025-26-s1"
    write_csv(folder / "orgs.csv", ("sourcedId", "status", "dateLastModified", "name", "type",
                                    "identifier", "parentSourcedId"),
              [("org-cr", "", "", "Cedar Ridge School District", "district", "CR-001", "")]
              + [(f"org-{key}", "", "", name, "school", f"CR-{key.upper()}", "org-cr")
                 for key, name in SCHOOLS] + list(hs.orgs))
    write_csv(folder / "academicSessions.csv",
              ("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
               "parentSourcedId", "schoolYear"),
              [(year, "", "", "2025-2026", "schoolYear", YEAR_START.isoformat(),
                YEAR_END.isoformat(), "", "2026"),
               (term, "", "", "2025-2026 Semester 1", "semester", TERM_START.isoformat(),
                TERM_END.isoformat(), year, "2026"), *hs.sessions])
    courses, classes, teachers = [], [], []
    for key, _ in SCHOOLS:
        for grade in GRADES:
            for subject, title in (("ma", "Mathematics"), ("ela", "English Language Arts")):
                course = f"crs-{subject}{grade}"
                if key == SCHOOLS[0][0]:
                    courses.append((course, "", "", year, f"{title} {int(grade)}",
                                    f"{subject.upper()}{grade}", grade, "org-cr", title, ""))
                cls = f"cls-{key}-{subject}{grade}"
                teacher = f"t-{key}-{subject}{grade}"
                classes.append((cls, "", "", f"{title} {int(grade)} ({key.upper()})", grade,
                                course, f"{subject.upper()}{grade}-{key.upper()}", "scheduled",
                                "", f"org-{key}", term, title, "", "1"))
                teachers.append((teacher, key, subject, grade, cls))
    write_csv(folder / "courses.csv", ("sourcedId", "status", "dateLastModified",
                                       "schoolYearSourcedId", "title", "courseCode", "grades",
                                       "orgSourcedId", "subjects", "subjectCodes"), [*courses, *hs.courses])
    write_csv(folder / "classes.csv", ("sourcedId", "status", "dateLastModified", "title",
                                       "grades", "courseSourcedId", "classCode", "classType",
                                       "location", "schoolSourcedId", "termSourcedIds",
                                       "subjects", "subjectCodes", "periods"), [*classes, *hs.classes])

    users, roles, demographics, enrollments = [], [], [], []
    roster: list[tuple[str, str, str, float, float]] = []  # id, school, grade, math, ela ability
    for n, (teacher, key, _, _, _) in enumerate(teachers):
        given, family = GIVEN[(n * 7) % len(GIVEN)], FAMILY[(n * 11 + 3) % len(FAMILY)]
        users.append(row.user(teacher, given, family, f"{teacher}@cedar-ridge.example", "",
                           f"org-{key}"))
        roles.append((f"role-{teacher}", "", "", teacher, "primary", "teacher", "", "",
                      f"org-{key}", ""))
    for n in range(students):
        sid = f"S{100001 + n}"
        key = SCHOOLS[n % 2][0]
        grade = GRADES[(n // 2) % 3]
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        guardian = f"g-{sid}"
        users.append(row.user(sid, given, family, f"{sid.lower()}@students.cedar-ridge.example",
                           grade, f"org-{key}", agents=guardian))
        roles.append((f"role-{sid}", "", "", sid, "primary", "student", "", "", f"org-{key}", ""))
        # Each student's parent, linked both ways (agentSourcedIds), as SIS exports do.
        users.append(row.user(guardian, GIVEN[(n * 5 + 2) % len(GIVEN)], family,
                           f"{guardian.lower()}@families.cedar-ridge.example", "", f"org-{key}",
                           agents=sid))
        roles.append((f"role-{guardian}", "", "", guardian, "primary", "guardian", "", "",
                      f"org-{key}", ""))
        demographics.append(row.demographic(rng, sid, n, grade))
        roster.append((sid, key, grade, rng.uniform(0.45, 1.0), rng.uniform(0.45, 1.0)))
    for teacher, key, _, _, cls in teachers:
        enrollments.append((f"enr-{cls}-{teacher}", "", "", cls, f"org-{key}", teacher, "teacher",
                            "true", TERM_START.isoformat(), TERM_END.isoformat()))
    for sid, key, grade, _, _ in roster:
        for subject in ("ma", "ela"):
            cls = f"cls-{key}-{subject}{grade}"
            enrollments.append((f"enr-{cls}-{sid}", "", "", cls, f"org-{key}", sid, "student",
                                "false", TERM_START.isoformat(), TERM_END.isoformat()))
    write_csv(folder / "users.csv", row.USER_HEADER, [*users, *hs.users])
    write_csv(folder / "roles.csv", ("sourcedId", "status", "dateLastModified", "userSourcedId",
                                     "roleType", "role", "beginDate", "endDate", "orgSourcedId",
                                     "userProfileSourcedId"), [*roles, *hs.roles])
    write_csv(folder / "demographics.csv", ("sourcedId", "status", "dateLastModified", "birthDate",
                                            "sex", *RACES, "hispanicOrLatinoEthnicity",
                                            "countryOfBirthCode", "stateOfBirthAbbreviation",
                                            "cityOfBirth", "publicSchoolResidenceStatus"),
              [*demographics, *hs.demographics])
    write_csv(folder / "enrollments.csv", ("sourcedId", "status", "dateLastModified",
                                           "classSourcedId", "schoolSourcedId", "userSourcedId",
                                           "role", "primary", "beginDate", "endDate"),
              [*enrollments, *hs.enrollments])
    write_csv(folder / "categories.csv", ("sourcedId", "status", "dateLastModified", "title",
                                          "weight"), [(c, "", "", t, "") for c, t in CATEGORIES])

    line_items, lilo, results, rlo = [], [], [], []
    for _, key, subject, grade, cls in teachers:
        specs = MATH_ITEMS if subject == "ma" else ELA_ITEMS
        for spec in specs:
            item = f"li-{cls}-{spec.suffix}"
            assign = TERM_START + timedelta(weeks=spec.week)
            line_items.append((item, "", "", spec.title, "", assign.isoformat(),
                               (assign + timedelta(days=7)).isoformat(), cls, spec.category,
                               term, "0", f"{spec.max_score:g}", f"org-{key}"))
            for n, code in enumerate(spec.objectives):
                lilo.append((f"{item}-lo{n + 1}", "", "", item, "case", codes[code]))
        for sid, skey, sgrade, math, ela in roster:
            if (skey, sgrade) != (key, grade):
                continue
            ability = math if subject == "ma" else ela
            for spec in specs:
                item = f"li-{cls}-{spec.suffix}"
                result = f"res-{item}-{sid}"
                when = TERM_START + timedelta(weeks=spec.week, days=rng.randint(3, 9))
                roll = rng.random()
                if roll < 0.04:
                    results.append((result, "", "", item, sid, "not submitted", "",
                                    when.isoformat(), "", "", cls, "", "", "", "true"))
                    continue
                score = _score(rng, ability, spec, when)
                results.append((result, "", "", item, sid, "fully graded", f"{score:g}",
                                when.isoformat(), "", "", cls, "", "", "", ""))
                if spec.per_objective:
                    for n, code in enumerate(spec.objectives):
                        part = _score(rng, ability - 0.05 * n, spec, when)
                        rlo.append((f"{result}-lo{n + 1}", "", "", result, "case", codes[code],
                                    f"{part:g}", ""))
    write_csv(folder / "lineItems.csv", ("sourcedId", "status", "dateLastModified", "title",
                                         "description", "assignDate", "dueDate", "classSourcedId",
                                         "categorySourcedId", "academicSessionSourcedId",
                                         "resultValueMin", "resultValueMax", "schoolSourcedId"),
              [*line_items, *hs.line_items])
    write_csv(folder / "lineItemLearningObjectiveIds.csv",
              ("sourcedId", "status", "dateLastModified", "lineItemSourcedId", "source",
               "learningObjectiveId"), [*lilo, *hs.lilo])
    write_csv(folder / "results.csv", ("sourcedId", "status", "dateLastModified",
                                       "lineItemSourcedId", "studentSourcedId", "scoreStatus",
                                       "score", "scoreDate", "comment", "textScore",
                                       "classSourcedId", "inProgress", "incomplete", "late",
                                       "missing"), [*results, *hs.results])
    write_csv(folder / "resultLearningObjectiveIds.csv",
              ("sourcedId", "status", "dateLastModified", "resultSourcedId", "source",
               "learningObjectiveId", "score", "textScore"), rlo)
    present = {"academicSessions", "categories", "classes", "courses", "demographics",
               "enrollments", "lineItemLearningObjectiveIds", "lineItems", "orgs",
               "resultLearningObjectiveIds", "results", "roles", "users"}
    manifest = [("manifest.version", "1.0"), ("oneroster.version", "1.2")]
    for name in ("academicSessions", "categories", "classes", "classResources", "courses",
                 "courseResources", "demographics", "enrollments", "lineItemLearningObjectiveIds",
                 "lineItems", "lineItemScoreScales", "orgs", "resources",
                 "resultLearningObjectiveIds", "results", "resultScoreScales", "roles",
                 "scoreScales", "userProfiles", "userResources", "users"):
        manifest.append((f"file.{name}", "bulk" if name in present else "absent"))
    manifest += [("source.systemName", "Cedar Ridge SIS (sample)"), ("source.systemCode", "CRSIS")]
    write_csv(folder / "manifest.csv", ("propertyName", "value"), manifest)
    return {"students": students, "classes": len(classes) + len(hs.classes),
            "line_items": len(line_items) + len(hs.line_items),
            "results": len(results) + len(hs.results)}


def _score(rng: random.Random, ability: float, spec: ItemSpec, when: date) -> float:
    """Scores rise a little over the term: students learn."""
    return row.score(rng, ability, spec.max_score,
                     (when - TERM_START).days / (TERM_END - TERM_START).days)


# ---- adaptive -------------------------------------------------------------------------


def write_adaptive(path: Path, rng: random.Random, students: int) -> int:
    """A Practice Pal skill report: one row per student, skill and practice day."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in range(students):
        sid = f"S{100001 + n}"
        grade = int(GRADES[(n // 2) % 3])
        skill = 0.5 + rng.random() * 0.5
        for suffix, title, week in SKILLS:
            if rng.random() < 0.3:
                continue
            score = 40 + skill * 40
            for session in range(rng.randint(1, 3)):
                day = TERM_START + timedelta(weeks=week, days=session * 6 + rng.randint(0, 3))
                score = min(100, score + rng.randint(5, 20))
                rows.append((sid, f"PP-{grade}-{suffix}", f"Grade {grade}: {title}",
                             str(int(score)), f"{day.month}/{day.day}/{day.year}"))
    rows.append(("S999999", "PP-7-RP-1", "Grade 7: Unit rates", "85", "9/15/2025"))
    rows.append(("S100002", "PP-6-SP-1", "Grade 6: Mean, median and range", "N/A", "12/1/2025"))
    write_csv(path, ("Student ID", "Skill ID", "Skill", "SmartScore", "Last practiced"), rows)
    return len(rows)


# ---- files -------------------------------------------------------------------------------


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
