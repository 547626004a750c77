"""JSON API: runs, mastery records with explanations, the calculator, teacher overrides.

Described at ``/openapi.json`` (:mod:`connector.api.openapi`); errors are problem
details (:mod:`connector.api.problems`).
"""

from __future__ import annotations

from flask import Flask, abort, request

from connector.api import (
    identity,
    intake,
    jobs,
    mapping,
    mastery,
    oidc,
    openapi,
    paging,
    people,
    problems,
    resources,
    signin,
    store,
    transcripts,
)
from connector.domain.text import control_character


def _check_url() -> None:
    """Refuse control characters in the path or query, and ids no row can have.

    PostgreSQL refuses a NUL in any text parameter, and a run id past 32 bits in an
    integer one: either would be a 500 instead of the client's error.
    """
    problem = control_character(request.path)
    if problem:
        abort(400, description=f"the path holds {problem}")
    for name, value in (request.view_args or {}).items():
        # Row ids are 32-bit on PostgreSQL: a larger one names nothing, and must not
        # reach the database as an out-of-range parameter.
        if isinstance(value, int) and not 0 <= value <= 2**31 - 1:
            abort(404, description=f"no {name.removesuffix('_id')} {value}")
    for name, value in request.args.items(multi=True):
        problem = control_character(name) or control_character(value)
        if problem:
            abort(400, description=f"query parameter {name[:40]!r} holds {problem}")


def init_app(app: Flask) -> None:
    store.init_app(app)
    api = openapi.init_app(app)  # its error handler answers problem details
    app.before_request(_check_url)
    app.after_request(paging.conditional)
    app.register_blueprint(problems.blueprint)
    api.register_blueprint(resources.blueprint)
    api.register_blueprint(mastery.blueprint)
    api.register_blueprint(intake.blueprint)
    api.register_blueprint(people.blueprint)
    api.register_blueprint(jobs.blueprint)
    api.register_blueprint(mapping.blueprint)
    api.register_blueprint(transcripts.blueprint)
    api.register_blueprint(identity.blueprint)
    signin.init_app(app)
    oidc.init_app(app)
