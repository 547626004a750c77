"""The two ways an alert leaves the building: an email over SMTP, a JSON POST to a webhook.

Both take plain values (the shell resolves secrets just before the call) and
raise :class:`DestinationError` with a sentence an IT lead can act on; neither
ever puts a password or a token in that sentence.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import requests

from connector.adapters.http.client import HttpClient, RetryPolicy, raise_for_status
from connector.errors import ConnectorError, DestinationError


def send_email(*, host: str, port: int, security: str, sender: str, to: Sequence[str],
               subject: str, body: str, username: str | None = None,
               password: str | None = None, timeout: float = 10.0) -> None:
    """Send one plain-text message; ``security`` is starttls, ssl or none."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    where = f"the mail server {host}:{port}"
    try:
        smtp: smtplib.SMTP
        if security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if username:
                smtp.login(username, password or "")
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise DestinationError(f"{where} refused the login (SMTP {exc.smtp_code}); check the "
                               f"username and password the alert settings point at") from None
    except smtplib.SMTPRecipientsRefused:
        raise DestinationError(f"{where} refused every recipient; check alerts.email.to") from None
    except smtplib.SMTPNotSupportedError:
        raise DestinationError(f"{where} does not offer STARTTLS; set alerts.email.security "
                               f"to ssl or none") from None
    except smtplib.SMTPException as exc:
        raise DestinationError(f"{where} refused the message: {type(exc).__name__}") from None
    except (TimeoutError, OSError) as exc:
        raise DestinationError(f"{where} could not be reached: "
                               f"{exc.strerror or type(exc).__name__}") from None


def post_webhook(url: str, payload: Mapping[str, Any], *, headers: Mapping[str, str] | None = None,
                 timeout: float = 10.0) -> None:
    """POST ``payload`` as JSON; retried on 429 and 5xx like every other call we make."""
    client = HttpClient("alert webhook", timeout=timeout,
                        retry=RetryPolicy(attempts=3, base_delay=0.5, max_delay=5.0))
    try:
        response = client.send("POST", url, json=dict(payload), headers=dict(headers or {}))
        raise_for_status(response, system="the alert webhook")
    except ConnectorError as exc:
        raise DestinationError(exc.message) from None
    except requests.RequestException as exc:
        raise DestinationError(f"the alert webhook could not be called: "
                               f"{type(exc).__name__}") from None
