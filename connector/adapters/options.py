"""Option fields adapters share; secrets are references, never values.

Lives at the bottom layer so that every adapter's options schema can mark a
field secret; the configuration layer uses the same field for its own secrets.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def is_env_reference(value: object) -> bool:
    return isinstance(value, str) and bool(ENV_REF.match(value.strip()))


class SecretRef(fields.String):
    """A secret: must be an environment reference; shown masked."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = str(super()._deserialize(value, attr, data, **kwargs))
        if not is_env_reference(text):
            raise ValidationError(
                "secrets must be environment references like ${DISTRICT_API_TOKEN}; "
                "never put the value itself in a config file"
            )
        return text


#: file: must exist and be readable; dir: a folder to read, must exist; file_or_dir: either
#: (a zip or a folder); out_dir: a folder to write, created if missing.
PATH_KINDS = ("file", "dir", "file_or_dir", "out_dir")


class PathOption(fields.String):
    """A path in the district's files; ``config validate`` checks it before any run does."""

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        if kind not in PATH_KINDS:
            raise ValueError(f"path kind must be one of {PATH_KINDS}: {kind!r}")
        super().__init__(**kwargs)
        self.path_kind = kind


class HttpOptions(Schema):
    """Where an API is and how patiently to talk to it."""

    base_url = fields.Url(required=True, require_tld=False,
                          metadata={"description": "the API root; standard paths are appended"})
    timeout = fields.Float(load_default=30.0)
    retries = fields.Integer(load_default=4, validate=validate.Range(min=1, max=10))
    retry_delay = fields.Float(load_default=0.5)


class ApiOptions(HttpOptions):
    """An OAuth2 client-credentials API (OneRoster, Ed-Fi)."""

    token_url = fields.Url(load_default=None, require_tld=False)
    client_id = SecretRef(required=True)
    client_secret = SecretRef(required=True)
    scopes = fields.List(fields.String(), load_default=None)
    token_auth = fields.String(load_default="basic", validate=validate.OneOf(["basic", "body"]))


class PushOptions(ApiOptions):
    """How a record-by-record push behaves (see connector.sync.safe_push)."""

    delete_removed = fields.Boolean(load_default=True)
    concurrency = fields.Integer(load_default=4, validate=validate.Range(min=1, max=32))
    batch_size = fields.Integer(load_default=200, validate=validate.Range(min=1, max=5000))
