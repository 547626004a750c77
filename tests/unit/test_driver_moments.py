"""Timestamps read from the driver come back as aware UTC datetimes on either store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from connector.persistence.bulk_io import utc_moments


def test_sqlite_text_and_postgresql_datetimes_read_as_the_same_utc_moment() -> None:
    moment = utc_moments()
    stored = datetime(2025, 10, 20, 6, 0, 0, 250000, tzinfo=UTC)
    eastern = stored.astimezone(timezone(timedelta(hours=-5)))   # a PostgreSQL session zone
    assert moment("2025-10-20 06:00:00.250000") == stored        # SQLite keeps UTC text
    assert moment(eastern) == stored and moment(eastern).tzinfo is UTC
    assert moment(stored.replace(tzinfo=None)) == stored  # naive means UTC
    assert moment(None) is None


def test_each_distinct_value_is_converted_once() -> None:
    moment = utc_moments()
    first = moment("2025-10-20 06:00:00.000000")
    assert moment("2025-10-20 06:00:00.000000") is first
    assert moment("2025-10-21 06:00:00.000000") is not first
