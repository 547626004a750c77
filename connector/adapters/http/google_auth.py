"""Google service-account tokens with domain-wide delegation, via google-auth.

The district creates a service account, allows it the Classroom read-only
scopes in its Workspace admin console (domain-wide delegation), and names a
Workspace user for it to act as (``subject``; an administrator sees every
course). The key is a secret: the environment variable the configuration names
holds the key's JSON, or the path of the key file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import requests
from google.oauth2 import service_account

from connector.errors import FatalSourceError, RetriableSourceError


def service_account_info(secret: str, *, system: str) -> dict[str, Any]:
    """The key's fields from the secret's value: the JSON itself, or a path to it."""
    text = secret.strip()
    if not text.startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise FatalSourceError(f"{system}: the service-account key file named by the "
                                   f"secret does not exist")
        text = path.read_text(encoding="utf-8")
    try:
        info = json.loads(text)
    except ValueError:
        raise FatalSourceError(f"{system}: the service-account key is not JSON") from None
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise FatalSourceError(f"{system}: the service-account key lacks {', '.join(missing)}")
    return dict(info)


class DelegatedToken:
    """A :class:`~connector.adapters.http.client.TokenProvider` over google-auth credentials."""

    def __init__(self, info: dict[str, Any], scopes: Sequence[str], subject: str, *,
                 system: str, session: requests.Session | None = None) -> None:
        self.system = system
        try:
            self._credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=list(scopes), subject=subject)
        except (ValueError, KeyError) as exc:
            raise FatalSourceError(f"{system}: the service-account key cannot be used "
                                   f"({type(exc).__name__})") from None
        self._request = google.auth.transport.requests.Request(session or requests.Session())

    def token(self) -> str:
        if not self._credentials.valid:
            try:
                self._credentials.refresh(self._request)
            except google.auth.exceptions.RefreshError as exc:
                raise FatalSourceError(
                    f"{self.system}: Google refused the service account's token request "
                    f"({_reason(exc)}); check domain-wide delegation, the scopes and the "
                    f"subject") from None
            except google.auth.exceptions.TransportError:
                raise RetriableSourceError(f"{self.system}: Google's token service did not "
                                           f"answer") from None
        return str(self._credentials.token)

    def invalidate(self) -> None:
        self._credentials.token = None


def _reason(exc: Exception) -> str:
    """The error code and description Google sent, without the assertion or any token."""
    args = exc.args
    if len(args) > 1 and isinstance(args[1], dict):
        body = args[1]
        return ": ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))
    return str(args[0]).split("\n")[0][:200] if args else type(exc).__name__
