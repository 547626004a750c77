"""Secrets are environment references (``${VAR}``), never values in files or columns.

A config field marked secret must hold exactly one reference. The reference is
what we store, log and show; the value is looked up only at the moment a
client needs it, and masked everywhere else.
"""

from __future__ import annotations

import os
import re

from connector.adapters.options import ENV_REF
from connector.errors import ConfigurationError

_ANY_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
MASK = "********"


def resolve_secret(reference: str, *, purpose: str) -> str:
    """The secret's value from the environment; a clear error if it is not set."""
    match = ENV_REF.match(reference.strip())
    if not match:
        raise ConfigurationError(
            f"{purpose}: secrets must be environment references like ${{VAR}}, not literal values"
        )
    name = match.group(1)
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(f"{purpose}: environment variable {name} is not set")
    return value


def expand_references(text: str) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in non-secret values such as paths."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value is None:
            if default is None:
                raise ConfigurationError(f"environment variable {name} is not set (in {text!r})")
            return default
        return value

    return _ANY_REF.sub(replace, text)
