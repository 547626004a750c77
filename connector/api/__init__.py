"""JSON API: runs, mastery records with explanations, the calculator, teacher overrides."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from connector.api import intake, mastery, resources, store


def _json_error(exc: HTTPException) -> Any:
    return jsonify(error=exc.name, message=exc.description), exc.code


def init_app(app: Flask) -> None:
    store.init_app(app)
    app.register_error_handler(HTTPException, _json_error)
    app.register_blueprint(resources.blueprint)
    app.register_blueprint(mastery.blueprint)
    app.register_blueprint(intake.blueprint)
