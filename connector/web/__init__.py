"""The web application: server-rendered pages over the same services as the API and CLI.

Pages read without JavaScript and every state is a URL. People sign in with the
accounts of :mod:`connector.api.signin`; each page declares the permission it needs,
and :func:`connector.api.access.district_session` decides, as it does for the API, so
a page and its API endpoint can never disagree about who may see what.
"""

from __future__ import annotations

from flask import Flask

from connector.web import (  # noqa: F401  (routes)
    classes,
    console,
    equity,
    family,
    pages,
    policy_lab,
    registrar,
    reports,
    systems,
)


def init_app(app: Flask) -> None:
    app.register_blueprint(pages.blueprint)
