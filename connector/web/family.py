"""The student and family view: a linked student's progress in plain language, read-only.

A student signs in and sees her own progress; a guardian sees the students the
roster links him to (OneRoster ``agentSourcedIds``); nobody else's. The page says
per domain the level reached, what is proficient and since when, and what to work
on next with its depth of knowledge and the evidence still needed. There is no
form on it: nothing a family does here changes a record.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, url_for

from connector.api.access import district_session, needs, principal, reach_of, student_reach
from connector.domain import roles
from connector.errors import NotFoundError
from connector.mastery.next_steps import DOK_WORDS
from connector.persistence import queries
from connector.sync.family_view import family_view
from connector.transcripts.service import district_today
from connector.web.pages import blueprint, page


@blueprint.get("/districts/<key>/family/")
@needs(roles.FAMILY_READ)
def family(key: str) -> Any:
    """The students this account is linked to; straight to the one when there is one."""
    _, session = district_session(key)
    reach = reach_of(session, roles.FAMILY_READ)
    linked = sorted(reach.students)
    if len(linked) == 1 and not reach.everything:
        return redirect(url_for("web.family_student", key=key, sis_id=linked[0]), 303)
    people = [queries.find_student(session, sis) for sis in linked]
    return page("web/family_list.html", key, students=people, everything=reach.everything,
                who=principal().actor)


@blueprint.get("/districts/<key>/family/<sis_id>/")
@needs(roles.FAMILY_READ)
def family_student(key: str, sis_id: str) -> Any:
    """One student's progress, as the student and the family read it."""
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.FAMILY_READ)
    try:
        view = family_view(session, settings, sis_id, district_today(settings))
    except NotFoundError as exc:
        abort(404, description=exc.message)
    return page("web/family.html", key, view=view, dok_words=DOK_WORDS,
                zone=settings.district.timezone)
