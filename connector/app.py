"""The Flask application factory: load config, then a flat list of init_app calls."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from connector.api import init_app as init_api
from connector.logging_setup import configure_logging
from connector.privacy import apply_umask
from connector.web import init_app as init_web


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``overrides`` wins over the environment (tests pass a database URL)."""
    apply_umask()
    app = Flask("connector")
    app.config.update(
        CONNECTOR_CONFIG_DIR=os.environ.get("CONNECTOR_CONFIG_DIR", "config"),
        CONNECTOR_DATABASE_URL=os.environ.get("CONNECTOR_DATABASE_URL") or None,
        JSON_SORT_KEYS=False,
        # Request bodies larger than this get 413, chunked or not (event batches are small).
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    app.config.update({k: v for k, v in (overrides or {}).items() if v is not None})
    configure_logging()
    init_api(app)
    init_web(app)
    return app
