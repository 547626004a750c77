"""When jobs are due: cron read in the district's zone, missed runs coalesced within a grace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.config.cron import missed_run, next_run
from connector.config.model import Settings
from connector.jobs.scheduler import plan

DENVER = "America/Denver"


def test_cron_is_read_in_the_district_time_zone_across_daylight_saving() -> None:
    winter = next_run("30 2 * * *", DENVER, datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    assert winter == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # 02:30 MST is UTC-7
    summer = next_run("30 2 * * *", DENVER, datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    assert summer == datetime(2026, 7, 2, 8, 30, tzinfo=UTC)  # 02:30 MDT is UTC-6
    assert next_run("30 2 * * *", "UTC", datetime(2026, 12, 1, 12, 0, tzinfo=UTC)) == \
        datetime(2026, 12, 2, 2, 30, tzinfo=UTC)


def test_next_run_is_strictly_after_the_given_time() -> None:
    at = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    assert next_run("30 2 * * *", DENVER, at) == at + timedelta(days=1)


def test_three_missed_nights_give_one_catch_up_run_at_the_latest_time() -> None:
    last = datetime(2026, 11, 28, 9, 30, 5, tzinfo=UTC)
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 08:00 Denver, after three missed 02:30s
    assert missed_run("30 2 * * *", DENVER, last, now, timedelta(hours=12)) == \
        datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_a_missed_time_older_than_the_grace_is_let_go() -> None:
    last = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    now = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)  # 12.5 hours after 02:30 Denver
    assert missed_run("30 2 * * *", DENVER, last, now, timedelta(hours=12)) is None
    assert missed_run("30 2 * * *", DENVER, last, now, timedelta(hours=13)) is not None


def test_a_run_that_started_after_its_time_means_nothing_was_missed() -> None:
    started = datetime(2026, 12, 1, 9, 30, 0, 200000, tzinfo=UTC)
    later = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert missed_run("30 2 * * *", DENVER, started, later, timedelta(hours=12)) is None
    # a manual run before the scheduled time does not count for it
    early = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert missed_run("30 2 * * *", DENVER, early, later, timedelta(hours=12)) == \
        datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_a_job_never_run_catches_up_only_within_the_grace() -> None:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 03:00 Denver
    assert missed_run("30 2 * * *", DENVER, None, now, timedelta(hours=1)) is not None
    assert missed_run("30 2 * * *", DENVER, None, now, timedelta(minutes=10)) is None


def test_plan_puts_a_missed_job_first_and_the_others_at_their_next_time(
        settings: Settings) -> None:
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tuesday 08:00 Denver
    starts = {"nightly-sync": datetime(2026, 11, 30, 9, 30, tzinfo=UTC),
              "weekly-transcripts": datetime(2026, 11, 30, 13, 0, tzinfo=UTC)}
    entries = {e.job.key: e for e in plan(settings, starts, now)}
    assert entries["nightly-sync"].catch_up and entries["nightly-sync"].due == now
    weekly = entries["weekly-transcripts"]
    assert not weekly.catch_up
    assert weekly.due == datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # next Monday 06:00 MST


@pytest.mark.parametrize("schedule", ["61 * * * *", "every night", "* * *"])
def test_a_bad_cron_is_a_configuration_problem_with_an_example(schedule: str) -> None:
    from marshmallow import ValidationError

    from connector.config.cron import check_cron

    with pytest.raises(ValidationError, match="e.g. '30 2 \\* \\* \\*'"):
        check_cron(schedule)


def test_weekday_numbers_mean_what_crontab_means() -> None:
    # APScheduler 3 alone reads "1" as Tuesday; cron (and every IT lead) means Monday.
    after = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # a Saturday
    fire = next_run("0 6 * * 1", "UTC", after)
    assert fire.strftime("%A %H:%M") == "Monday 06:00"
    assert next_run("0 6 * * 0", "UTC", after).strftime("%A") == "Sunday"
    assert next_run("0 6 * * 7", "UTC", after).strftime("%A") == "Sunday"
    weekdays = {next_run("0 6 * * 1-5", "UTC", after + timedelta(days=d)).strftime("%a")
                for d in range(7)}
    assert weekdays == {"Mon", "Tue", "Wed", "Thu", "Fri"}


def test_day_of_month_and_weekday_together_are_refused() -> None:
    from marshmallow import ValidationError

    from connector.config.cron import check_cron

    with pytest.raises(ValidationError, match="not both"):
        check_cron("0 6 1 * 1")
    with pytest.raises(ValidationError, match="0-7"):
        check_cron("0 6 * * 8")
