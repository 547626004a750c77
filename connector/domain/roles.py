"""Who may do what, and over which students: roles, permissions and reach, as plain data.

A district is organised by schools and classes, and so are its people's rights: a
principal sees her school, a teacher the students enrolled in his classes, the
registrar every student, IT the sync machinery and none of the records, a student
her own progress and a guardian the progress of the students the roster links him to
(OneRoster ``agentSourcedIds``). A person
holds grants (a role, and for school roles the school); each endpoint needs one
permission; what the person may reach with it is the union over the grants that
give that permission. Machine tokens carry scopes, which cap the permissions of
whoever holds them (a read token of an admin still only reads).

Kept pure so that the matrix below is the single statement of the policy, and the
role-matrix test can hold every endpoint to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DISTRICT_ADMIN = "district_admin"
IT = "it"
REGISTRAR = "registrar"
SCHOOL_LEADER = "school_leader"
TEACHER = "teacher"
VIEWER = "viewer"
STUDENT = "student"
GUARDIAN = "guardian"
ROLES = (DISTRICT_ADMIN, IT, REGISTRAR, SCHOOL_LEADER, TEACHER, VIEWER, STUDENT, GUARDIAN)
#: Roles granted for one school at a time: the grant names the school.
SCHOOL_ROLES = frozenset({SCHOOL_LEADER, VIEWER})

# Permissions: one per kind of thing an endpoint does.
RECORDS_READ = "records.read"          # a student's records, progress, evidence, overrides
RECORDS_OVERRIDE = "records.override"  # set or clear a teacher override
CLASSES_READ = "classes.read"          # a class's mastery grid
REPORTS_READ = "reports.read"          # aggregate reports (DOK exposure)
FRAMEWORKS_READ = "frameworks.read"    # frameworks, competencies, the calculator
RUNS_READ = "runs.read"                # job status, runs, stages, rejections
JOBS_RUN = "jobs.run"                  # run a job now
MAPPING_READ = "mapping.read"
MAPPING_WRITE = "mapping.write"
IDENTITY_READ = "identity.read"
IDENTITY_WRITE = "identity.write"
CONFIG_READ = "config.read"            # settings with secrets masked
AUDIT_READ = "audit.read"
USERS_ADMIN = "users.admin"            # people, roles and tokens
TRANSCRIPTS_READ = "transcripts.read"
TRANSCRIPTS_WRITE = "transcripts.write"
FAMILY_READ = "family.read"            # the plain-language progress page of a linked student
POLICY_COMPARE = "policy.compare"      # the policy lab: another policy over every record
EQUITY_READ = "equity.read"            # aggregates by demographic group, small groups hidden

PERMISSIONS = frozenset({
    RECORDS_READ, RECORDS_OVERRIDE, CLASSES_READ, REPORTS_READ, FRAMEWORKS_READ, RUNS_READ,
    JOBS_RUN, MAPPING_READ, MAPPING_WRITE, IDENTITY_READ, IDENTITY_WRITE, CONFIG_READ,
    AUDIT_READ, USERS_ADMIN, TRANSCRIPTS_READ, TRANSCRIPTS_WRITE, FAMILY_READ,
    POLICY_COMPARE, EQUITY_READ})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    DISTRICT_ADMIN: PERMISSIONS,
    IT: frozenset({RUNS_READ, JOBS_RUN, MAPPING_READ, MAPPING_WRITE, IDENTITY_READ,
                   IDENTITY_WRITE, CONFIG_READ, FRAMEWORKS_READ}),
    REGISTRAR: frozenset({RECORDS_READ, CLASSES_READ, REPORTS_READ, FRAMEWORKS_READ,
                          TRANSCRIPTS_READ, TRANSCRIPTS_WRITE}),
    SCHOOL_LEADER: frozenset({RECORDS_READ, CLASSES_READ, REPORTS_READ, FRAMEWORKS_READ,
                              EQUITY_READ}),
    TEACHER: frozenset({RECORDS_READ, RECORDS_OVERRIDE, CLASSES_READ, FRAMEWORKS_READ}),
    VIEWER: frozenset({REPORTS_READ, FRAMEWORKS_READ, EQUITY_READ}),
    # Read-only, and only the family page: never the staff pages, even of themselves.
    # (A district admin holds every permission, so may open any student's family page.)
    STUDENT: frozenset({FAMILY_READ}),
    GUARDIAN: frozenset({FAMILY_READ}),
}
#: Roles whose reach is the students the roster links to the person (``linked_students``).
FAMILY_ROLES = frozenset({STUDENT, GUARDIAN})

_READS = frozenset(p for p in PERMISSIONS if p.endswith(".read")) - {AUDIT_READ}
_WRITES = frozenset({RECORDS_OVERRIDE, JOBS_RUN, MAPPING_WRITE, IDENTITY_WRITE,
                     TRANSCRIPTS_WRITE})
#: What each machine-token scope allows at most (``intake:<source>`` allows none of these).
SCOPE_PERMISSIONS: dict[str, frozenset[str]] = {
    "read": _READS,
    "write": _READS | _WRITES,
    "admin": PERMISSIONS,
}


def scope_ceiling(scopes: Iterable[str]) -> frozenset[str]:
    """The permissions a token's scopes allow.

    >>> sorted(scope_ceiling(["read"]) & {RECORDS_READ, RECORDS_OVERRIDE, AUDIT_READ})
    ['records.read']
    """
    allowed: frozenset[str] = frozenset()
    for scope in scopes:
        allowed |= SCOPE_PERMISSIONS.get(scope, frozenset())
    return allowed


@dataclass(frozen=True)
class Grant:
    role: str
    school: str = ""  # a school's sourced id, for school roles; "" for the others


def check_grant(role: str, school: str) -> Grant:
    """A grant, or ValueError saying why it cannot be one."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role[:40]!r}: one of {', '.join(ROLES)}")
    if role in SCHOOL_ROLES and not school:
        raise ValueError(f"a {role} grant names its school (the roster org's sourcedId)")
    if role not in SCHOOL_ROLES and school:
        raise ValueError(f"a {role} grant is for the whole district: it takes no school")
    return Grant(role, school)


@dataclass(frozen=True)
class Reach:
    """Which students and classes a permission reaches: all, or by school, class or student."""

    everything: bool = False
    schools: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    students: frozenset[str] = frozenset()  # SIS ids, for the family roles

    def student(self, schools: Iterable[str], classes: Iterable[str], sis_id: str = "") -> bool:
        """Whether a student in these schools and enrolled in these classes is reached."""
        return self.everything or bool(self.schools.intersection(schools)) or bool(
            self.classes.intersection(classes)) or (bool(sis_id) and sis_id in self.students)

    def section(self, class_id: str, school: str) -> bool:
        return self.everything or class_id in self.classes or school in self.schools


EVERYTHING = Reach(everything=True)


def reach(grants: Iterable[Grant], permission: str, *, teacher_classes: Iterable[str] = (),
          linked_students: Iterable[str] = ()) -> Reach | None:
    """What ``permission`` reaches for someone holding ``grants``; None when it is not granted.

    District roles reach everything; school roles their school; a teacher the classes
    the roster says he teaches (``teacher_classes``), and through them their students;
    a student or guardian the students the roster links them to (``linked_students``).

    >>> reach([Grant(TEACHER)], CLASSES_READ, teacher_classes=["c1"]).classes
    frozenset({'c1'})
    >>> reach([Grant(VIEWER, "s1")], RECORDS_READ) is None
    True
    >>> reach([Grant(GUARDIAN)], FAMILY_READ, linked_students=["S1"]).students
    frozenset({'S1'})
    """
    found = False
    schools: set[str] = set()
    classes: set[str] = set()
    students: set[str] = set()
    for grant in grants:
        if permission not in ROLE_PERMISSIONS.get(grant.role, frozenset()):
            continue
        found = True
        if grant.role in SCHOOL_ROLES:
            schools.add(grant.school)
        elif grant.role == TEACHER:
            classes.update(teacher_classes)
        elif grant.role in FAMILY_ROLES:
            students.update(linked_students)
        else:
            return EVERYTHING
    if not found:
        return None
    return Reach(schools=frozenset(schools), classes=frozenset(classes),
                 students=frozenset(students))


def permissions(grants: Iterable[Grant]) -> frozenset[str]:
    """Every permission any of the grants gives."""
    out: frozenset[str] = frozenset()
    for grant in grants:
        out |= ROLE_PERMISSIONS.get(grant.role, frozenset())
    return out
