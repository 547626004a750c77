"""The policy as data: roles, scopes and reach (connector.domain.roles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.domain import roles
from connector.domain.roles import Grant, check_grant, reach, scope_ceiling


def test_every_role_gives_only_known_permissions_and_only_admins_manage_people() -> None:
    for role, allowed in roles.ROLE_PERMISSIONS.items():
        assert allowed <= roles.PERMISSIONS, role
    holders = {r for r, allowed in roles.ROLE_PERMISSIONS.items() if roles.USERS_ADMIN in allowed}
    assert holders == {roles.DISTRICT_ADMIN}
    assert roles.RECORDS_READ not in roles.ROLE_PERMISSIONS[roles.IT]  # IT sees no records


def test_a_read_scope_changes_nothing_and_intake_reads_nothing() -> None:
    read = scope_ceiling(["read"])
    assert not read & {roles.RECORDS_OVERRIDE, roles.JOBS_RUN, roles.MAPPING_WRITE,
                       roles.IDENTITY_WRITE, roles.TRANSCRIPTS_WRITE, roles.USERS_ADMIN}
    assert scope_ceiling(["intake:tutor"]) == frozenset()
    assert scope_ceiling(["admin"]) == roles.PERMISSIONS


def test_reach_is_the_union_over_the_grants_that_give_the_permission() -> None:
    both = [Grant(roles.TEACHER), Grant(roles.SCHOOL_LEADER, "org-a")]
    found = reach(both, roles.RECORDS_READ, teacher_classes=["c1"])
    assert found is not None and not found.everything
    assert found.schools == {"org-a"} and found.classes == {"c1"}
    assert found.student(["org-b"], ["c1"]) and found.student(["org-a"], [])
    assert not found.student(["org-b"], ["c2"])
    # Only the teacher grant overrides: its classes, not the leader's school.
    overrides = reach(both, roles.RECORDS_OVERRIDE, teacher_classes=["c1"])
    assert overrides is not None and overrides.schools == frozenset()
    assert reach([Grant(roles.REGISTRAR), Grant(roles.VIEWER, "org-a")],
                 roles.RECORDS_READ) == roles.EVERYTHING
    assert reach([Grant(roles.TEACHER)], roles.CLASSES_READ).classes == frozenset()


@pytest.mark.parametrize(("role", "school", "said"), [
    ("wizard", "", "unknown role"), ("viewer", "", "names its school"),
    ("registrar", "org-a", "whole district")])
def test_a_grant_that_cannot_be_says_why(role: str, school: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        check_grant(role, school)


@pytest.mark.parametrize(("target", "kept"), [
    ("/api/v1/districts/x/me", True), ("https://evil.example/", False), ("//evil.example", False),
    ("/\t/evil.example", False), ("/\\evil.example", False), ("", False), ("me", False)])
def test_after_sign_in_only_a_path_on_this_server_is_followed(target: str, kept: bool,
                                                             tmp_path: Path) -> None:
    from connector.api.signin import safe_next
    from connector.app import create_app

    app = create_app({"CONNECTOR_CONFIG_DIR": "config",
                      "CONNECTOR_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"})
    with app.test_request_context("/login"):
        assert (safe_next(target) == target) is kept
