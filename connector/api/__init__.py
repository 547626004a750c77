"""Read-only JSON API: health, runs, a student's mastery records, unmapped items."""

from __future__ import annotations

from flask import Flask

from connector.api import resources, store


def init_app(app: Flask) -> None:
    store.init_app(app)
    app.register_blueprint(resources.blueprint)
