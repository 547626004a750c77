"""Cron schedules read in the district's time zone, and which scheduled times were missed.

APScheduler's cron trigger does the calendar arithmetic (daylight-saving
changes included); these functions add what it does not know: the district's
zone, the run history, and the cron meaning of weekday numbers. APScheduler 3
counts weekdays from Monday = 0, so its ``from_crontab("0 6 * * 1")`` fires on
Tuesdays; every crontab and every IT lead means Monday. :func:`trigger` reads
the five fields as cron does (0 and 7 are Sunday) and hands APScheduler names.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from marshmallow import ValidationError


def utc_now() -> datetime:
    return datetime.now(UTC)


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekdays(field: str) -> str:
    """A cron day-of-week field with its numbers as day names, which APScheduler reads right.

    >>> weekdays("1"), weekdays("1-5"), weekdays("0,6"), weekdays("*/2"), weekdays("7")
    ('mon', 'mon,tue,wed,thu,fri', 'sun,sat', 'sun,tue,thu,sat', 'sun')
    >>> weekdays("*"), weekdays("mon-fri")
    ('*', 'mon-fri')
    """
    if field == "*" or any(c.isalpha() for c in field):
        return field
    days: list[str] = []
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            low_text, high_text = span.split("-", 1)
            low, high = int(low_text), int(high_text)
        else:
            low = high = int(span)
        if not (0 <= low <= 7 and 0 <= high <= 7 and low <= high and step >= 1):
            raise ValueError(f"day of week {part!r} must use 0-7 (0 and 7 are Sunday)")
        for number in range(low, high + 1, step):
            if _DAYS[number] not in days:
                days.append(_DAYS[number])
    return ",".join(days)


def trigger(schedule: str, timezone: str = "UTC") -> CronTrigger:
    """The job's cron expression (five fields, as crontab reads them) in the district's zone."""
    values = schedule.split()
    if len(values) != 5:
        raise ValueError(f"Wrong number of fields; got {len(values)}, expected 5")
    minute, hour, day, month, day_of_week = values
    if day != "*" and day_of_week != "*":
        raise ValueError("give a day of the month or a day of the week, not both (cron runs on "
                         "either; APScheduler would need both): use two jobs if you mean either")
    try:
        dow = weekdays(day_of_week)
    except ValueError as exc:
        detail = str(exc) if "0-7" in str(exc) else "use 0-7, day names and ranges like 1-5"
        raise ValueError(f"day of week {day_of_week!r} is not understood: {detail}") from None
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow,
                       timezone=ZoneInfo(timezone))


def next_run(schedule: str, timezone: str, after: datetime) -> datetime:
    """The first time the schedule fires strictly after ``after``."""
    return _next(trigger(schedule, timezone), after)


def _next(cron: CronTrigger, after: datetime) -> datetime:
    fire: datetime | None = cron.get_next_fire_time(None, after + timedelta(microseconds=1))
    if fire is None:  # a five-field cron always fires again; kept for the type checker
        raise ValueError(f"schedule {cron} never fires again")
    return fire.astimezone(UTC)


def missed_run(schedule: str, timezone: str, last_started: datetime | None, now: datetime,
               grace: timedelta) -> datetime | None:
    """The latest time the job was due and did not start, if within ``grace`` of now.

    Every time missed since the last start collapses into one catch-up run
    (coalesced); a time older than ``grace`` is let go, and the job waits for
    its next time.

    >>> from datetime import datetime, timedelta, UTC
    >>> now = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)        # 08:00 in Denver
    >>> last = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)        # yesterday 02:30 Denver
    >>> missed_run("30 2 * * *", "America/Denver", last, now, timedelta(hours=12))
    datetime.datetime(2026, 12, 2, 9, 30, tzinfo=datetime.timezone.utc)
    >>> missed_run("30 2 * * *", "America/Denver", last, now, timedelta(hours=2)) is None
    True
    """
    cron = trigger(schedule, timezone)
    window = now - grace
    # Strictly after the last start (a run at its time started it), at or after the window.
    fire = (_next(cron, last_started) if last_started is not None and last_started >= window
            else _next(cron, window - timedelta(microseconds=1)))
    latest: datetime | None = None
    while fire <= now:
        latest = fire
        fire = _next(cron, fire)
    return latest


def check_cron(value: str | None) -> None:
    """A marshmallow validator: five cron fields, with an example when they are not."""
    if value is None:
        return
    try:
        trigger(value)
    except ValueError as exc:
        raise ValidationError(
            f"{value!r} is not a cron expression of five fields (minute hour day month "
            f"weekday), e.g. '30 2 * * *' for 2:30 every night: {exc}") from exc
