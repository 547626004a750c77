"""One error taxonomy, named by what the caller should do about it.

A district IT lead reading a failed run needs to know whether to fix a file,
fix the configuration, wait and retry, or call us. Each class says which.
Exceptions carry structured attributes so logs and run reports can show them
without parsing messages.
"""

from __future__ import annotations

from dataclasses import dataclass


class ConnectorError(Exception):
    """Base of every error this product raises on purpose."""

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = {k: v for k, v in context.items() if v is not None}

    def __str__(self) -> str:
        if not self.context:
            return self.message
        details = ", ".join(f"{k}={v}" for k, v in sorted(self.context.items()))
        return f"{self.message} ({details})"


class ConfigurationError(ConnectorError):
    """The district's configuration is wrong: fix the YAML, then rerun."""


class SourceError(ConnectorError):
    """A source system could not be read as a whole."""


class FatalSourceError(SourceError):
    """Retrying will not help (bad credentials, missing file, unreadable archive)."""


class RetriableSourceError(SourceError):
    """Transient (throttling, timeout, 5xx): the same request may succeed later."""


class DataError(ConnectorError):
    """One record is malformed; it is rejected with a reason and the rest continue."""


class NotFoundError(DataError):
    """What was asked for (a run, a student, a competency) does not exist: check the id."""


class MappingError(ConnectorError):
    """An alignment cannot be resolved (unknown competency, bad crosswalk row)."""


class MasteryError(ConnectorError):
    """A mastery method or policy was given invalid parameters."""


class DestinationError(ConnectorError):
    """A destination refused or failed a write."""


class FatalDestinationError(DestinationError):
    """The write cannot succeed without a change on our side or theirs."""


class RetriableDestinationError(DestinationError):
    """The write may succeed later; nothing was recorded as sent."""


class BusyError(ConnectorError):
    """Another process is doing the same work right now: wait for it to end, then rerun."""


class TenancyError(ConnectorError):
    """Code tried to read or write another district's data: a bug, never user input."""


@dataclass(frozen=True)
class Rejection:
    """One record that was not accepted, and why, in terms a data clerk can act on.

    Attributes:
        file: the file (or stream/endpoint) the record came from.
        row: 1-based row number in the file counting the header as row 1, or the
            index of the object in a JSON array (1-based).
        field: the offending field, or "" when the whole record is at fault.
        reason: what is wrong and, where possible, how to fix it.
        record_key: the record's natural key when it could be read.
        subject: for a student the source could not match to the roster, how the
            source names them (``kind:value``, e.g. ``user:4242``), so the identity
            queue can link exactly that id to a roster student.
    """

    file: str
    row: int | None
    field: str
    reason: str
    record_key: str = ""
    subject: str = ""

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field}: {self.reason}"
