"""Row builders both the middle schools and the high school use, so their rows match."""

from __future__ import annotations

import random
from datetime import date

RACES = ["americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
         "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces"]

USER_HEADER = ("sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds",
               "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
               "agentSourcedIds", "grades", "password", "userMasterIdentifier",
               "preferredGivenName", "preferredMiddleName", "preferredFamilyName",
               "primaryOrgSourcedId", "pronouns")


def user(sid: str, given: str, family: str, email: str, grade: str,
         school: str, agents: str = "") -> tuple[str, ...]:
    """A users.csv row: the SIS id is the username's source, the identifier and the master id."""
    return (sid, "", "", "true", email.split("@")[0], f"{{SIS:{sid}}}", given, family, "", sid,
            email, "", "", agents, grade, "", sid, "", "", "", school, "")


def demographic(rng: random.Random, sid: str, n: int, grade: str) -> tuple[str, ...]:
    """A demographics.csv row: born the year the grade implies, one race, sex, ethnicity."""
    races = [rng.choice(RACES)]
    return (sid, "", "", date(2020 - int(grade), 1 + n % 12, 1 + n % 28).isoformat(),
            rng.choice(["female", "male"]), *("true" if r in races else "false" for r in RACES),
            rng.choice(["true", "false"]), "", "", "", "")


def score(rng: random.Random, ability: float, max_score: float, through: float) -> float:
    """A score on an item ``through`` (0-1) of the way into a course.

    Students learn, so scores rise a little over it. A 4-point item is a rubric score, 1-4.
    """
    percent = min(1.0, max(0.0, ability + 0.12 * through + rng.gauss(0, 0.12)))
    if max_score == 4:
        return float(min(4, max(1, round(1 + percent * 3))))
    return float(round(percent * max_score))
