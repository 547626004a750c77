"""Option fields adapters share, and options as typed values; secrets are references.

Lives at the bottom layer so that every adapter's options schema can mark a
field secret; the configuration layer uses the same field for its own secrets.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from marshmallow import Schema, ValidationError, fields, missing, validate

from connector.errors import ConfigurationError

T = TypeVar("T")

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
    #: Seconds to wait for an answer before the request counts as failed (and is retried).
    timeout = fields.Float(load_default=30.0)
    #: Tries per request for what asking again can fix (no answer, 429, 5xx); then the run
    #: fails for this source and the next run starts again from its last checkpoint.
    retries = fields.Integer(load_default=4, validate=validate.Range(min=1, max=10))
    #: Seconds before the first retry; each next one waits up to twice as long (with jitter),
    #: unless the server says how long in ``Retry-After``.
    retry_delay = fields.Float(load_default=0.5)


class ApiOptions(HttpOptions):
    """An OAuth2 client-credentials API (OneRoster, Ed-Fi)."""

    #: The OAuth 2.0 token endpoint; empty means ``base_url`` + ``/oauth/token``.
    token_url = fields.Url(load_default=None, require_tld=False)
    #: The client id of the API credentials the SIS or provider issued.
    client_id = SecretRef(required=True)
    #: The client secret that goes with ``client_id``.
    client_secret = SecretRef(required=True)
    #: Scopes to ask the token for; empty means the standard read (or write) scopes of the API.
    scopes = fields.List(fields.String(), load_default=None)
    #: How the client credentials go to the token endpoint: HTTP Basic (``basic``) or
    #: in the form body (``body``), as the provider documents.
    token_auth = fields.String(load_default="basic", validate=validate.OneOf(["basic", "body"]))


class PushOptions(ApiOptions):
    """How a record-by-record push behaves (see connector.sync.safe_push)."""

    #: Delete from the SIS a record this connector wrote earlier and no longer has (a
    #: competency removed from a class, a student who left); off leaves such records there.
    delete_removed = fields.Boolean(load_default=True)
    #: Writes in flight at once; lower it for a SIS that refuses bursts.
    concurrency = fields.Integer(load_default=4, validate=validate.Range(min=1, max=32))
    #: Records per batch: each batch's before-images are committed before any of it is sent.
    batch_size = fields.Integer(load_default=200, validate=validate.Range(min=1, max=5000))


def typed_options(kind: type[T], schema: Schema, options: Mapping[str, Any]) -> T:
    """An adapter's options as its frozen dataclass, with the schema's defaults filled in.

    The schema is the one place a key, its default and its rules are written (it
    checks the district's files and writes docs/configuration.md); the dataclass
    gives adapters typed attributes instead of ``options.get(key, default)`` calls that
    restate, and drift from, those defaults. The two must name the same keys: a key
    added to one and not the other fails here, on the first construction.

    ``options`` is what the configuration loader produced from the schema, or (in
    tests and benchmarks) the part of it a caller cares to give: a missing key takes
    the schema's default, and a missing required key is a configuration error.
    """
    names = {f.name for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
    declared = set(schema.fields)
    if names != declared:
        raise TypeError(f"{kind.__name__} and {type(schema).__name__} disagree on option "
                        f"keys: {sorted(names ^ declared)}")
    return kind(**with_defaults(schema, options))


def with_defaults(schema: Schema, options: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """``options`` with every key the schema declares, nested settings included."""
    values: dict[str, Any] = {}
    for name, field in schema.fields.items():
        if name in options:
            value = options[name]
            if isinstance(field, fields.Nested) and not field.many and isinstance(value, Mapping):
                nested = field.schema
                value = with_defaults(nested, value, f"{where}{name}.")
            values[name] = value
        elif field.load_default is not missing:
            default = field.load_default
            values[name] = default() if callable(default) else default
        elif field.required:
            raise ConfigurationError(f"option {where}{name!r} is required")
        else:
            values[name] = None
    return values


@dataclass(frozen=True, kw_only=True)
class HttpSettings:
    """:class:`HttpOptions`, typed."""

    base_url: str
    timeout: float
    retries: int
    retry_delay: float


@dataclass(frozen=True, kw_only=True)
class ApiSettings(HttpSettings):
    """:class:`ApiOptions`, typed."""

    token_url: str | None
    client_id: str
    client_secret: str
    scopes: Sequence[str] | None
    token_auth: str


@dataclass(frozen=True, kw_only=True)
class PushSettings(ApiSettings):
    """:class:`PushOptions`, typed."""

    delete_removed: bool
    concurrency: int
    batch_size: int
