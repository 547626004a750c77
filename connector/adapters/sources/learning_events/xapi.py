"""xAPI 1.0.3 statements: what intake accepts, and what a stored statement is worth as evidence.

Validation follows the xAPI 1.0.3 data specification closely enough that a
statement a conformant LRS would refuse is refused here with the same 400 and
a message naming the property. Conversion is separate and lenient: a valid
statement with no score (``experienced``, ``launched``) is simply not evidence.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from connector.domain.records import LearningObjectiveRef, Score, ScoreStatus, SourceItem, StudentRef
from connector.domain.text import json_text_problem

VERSION = "1.0.3"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
_STATEMENT_KEYS = {"id", "actor", "verb", "object", "result", "context", "timestamp", "stored",
                   "authority", "version", "attachments"}
_RESULT_KEYS = {"score", "success", "completion", "response", "duration", "extensions"}
_CONTEXT_KEYS = {"registration", "instructor", "team", "contextActivities", "revision", "platform",
                 "language", "statement", "extensions"}
_CONTEXT_ACTIVITY_KEYS = {"parent", "grouping", "category", "other"}
#: ISO 8601 date and time with a time zone (Z or an offset other than -00:00).
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_SCORE_KEYS = {"scaled", "raw", "min", "max"}
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
#: A CASE item URI: ``.../CFItems/<uuid>`` as CASE providers serve them.
_CASE_URI = re.compile(r"/CFItems/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                       r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")


class InvalidStatement(ValueError):
    """A statement the LRS must refuse with 400; the message names the property."""


# ---- validation ---------------------------------------------------------------------


def check_statement(statement: Any, where: str = "statement") -> None:
    """Raise :class:`InvalidStatement` unless ``statement`` is a valid xAPI 1.0.3 statement."""
    if not isinstance(statement, dict):
        raise InvalidStatement(f"{where} must be a JSON object")
    problem = json_text_problem(statement, where)
    if problem:  # a NUL here once stopped every later statement of its provider
        raise InvalidStatement(problem)
    _only(statement, _STATEMENT_KEYS, where)
    for key in ("actor", "verb", "object"):
        if key not in statement:
            raise InvalidStatement(f"{where}.{key} is required")
    if "id" in statement:
        _check_uuid(statement["id"], f"{where}.id")
    if "version" in statement and not str(statement["version"]).startswith("1.0"):
        raise InvalidStatement(f"{where}.version must be 1.0.x: {statement['version']!r}")
    _check_actor(statement["actor"], f"{where}.actor")
    verb = statement["verb"]
    if not isinstance(verb, dict) or not _is_iri(verb.get("id")):
        raise InvalidStatement(f"{where}.verb.id must be an IRI")
    if "display" in verb:
        _check_language_map(verb["display"], f"{where}.verb.display")
    _check_object(statement["object"], f"{where}.object", verb["id"])
    if "result" in statement:
        _check_result(statement["result"], f"{where}.result")
    if "context" in statement:
        _check_context(statement["context"], f"{where}.context")
    for key in ("timestamp", "stored"):
        if key in statement:
            parse_timestamp(statement[key], f"{where}.{key}")
    if statement.get("attachments"):
        raise InvalidStatement(f"{where}.attachments: this LRS does not accept attachments")


def _only(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InvalidStatement(f"{where} has properties xAPI does not define: {unknown}")


def _check_uuid(value: Any, where: str) -> None:
    if not isinstance(value, str) or not _UUID.match(value):
        raise InvalidStatement(f"{where} must be a UUID: {value!r}")


def _check_language_map(value: Any, where: str) -> None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
        raise InvalidStatement(f"{where} must be a language map (language tag: text)")


def _check_extensions(value: Any, where: str) -> None:
    if not isinstance(value, dict) or not all(_is_iri(k) for k in value):
        raise InvalidStatement(f"{where} must be an object whose keys are IRIs")


def _check_context(context: Any, where: str) -> None:
    if not isinstance(context, dict):
        raise InvalidStatement(f"{where} must be an object")
    _only(context, _CONTEXT_KEYS, where)
    activities = context.get("contextActivities")
    if activities is not None:
        if not isinstance(activities, dict) or set(activities) - _CONTEXT_ACTIVITY_KEYS:
            raise InvalidStatement(f"{where}.contextActivities may hold only parent, grouping, "
                                   "category and other")
        for key, group in activities.items():
            for n, activity in enumerate(group if isinstance(group, list) else [group]):
                _check_activity(activity, f"{where}.contextActivities.{key}[{n}]")
    if "extensions" in context:
        _check_extensions(context["extensions"], f"{where}.extensions")


def _check_activity(activity: Any, where: str) -> None:
    if not isinstance(activity, dict) or activity.get("objectType", "Activity") != "Activity":
        raise InvalidStatement(f"{where} must be an Activity")
    if not _is_iri(activity.get("id")):
        raise InvalidStatement(f"{where}.id must be an IRI")
    definition = activity.get("definition", {})
    if not isinstance(definition, dict):
        raise InvalidStatement(f"{where}.definition must be an object")
    for key in ("name", "description"):
        if key in definition:
            _check_language_map(definition[key], f"{where}.definition.{key}")
    if "extensions" in definition:
        _check_extensions(definition["extensions"], f"{where}.definition.extensions")


def _is_iri(value: Any) -> bool:
    return isinstance(value, str) and bool(_IRI.match(value))


def _check_actor(actor: Any, where: str) -> None:
    if not isinstance(actor, dict):
        raise InvalidStatement(f"{where} must be an object")
    kind = actor.get("objectType", "Agent")
    if kind not in ("Agent", "Group"):
        raise InvalidStatement(f"{where}.objectType must be Agent or Group: {kind!r}")
    ifis = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in actor]
    if kind == "Agent" and len(ifis) != 1:
        raise InvalidStatement(f"{where} must have exactly one of mbox, mbox_sha1sum, openid, "
                               f"account; has {ifis or 'none'}")
    if "mbox" in actor and not (isinstance(actor["mbox"], str)
                                and actor["mbox"].startswith("mailto:")):
        raise InvalidStatement(f"{where}.mbox must be a mailto: IRI")
    if "mbox_sha1sum" in actor and not (isinstance(actor["mbox_sha1sum"], str)
                                        and _SHA1.match(actor["mbox_sha1sum"])):
        raise InvalidStatement(f"{where}.mbox_sha1sum must be 40 hex digits")
    if "account" in actor:
        account = actor["account"]
        if not (isinstance(account, dict) and _is_iri(account.get("homePage"))
                and isinstance(account.get("name"), str) and account["name"]):
            raise InvalidStatement(f"{where}.account needs homePage (an IRL) and name")


def _check_object(obj: Any, where: str, verb: str) -> None:
    if not isinstance(obj, dict):
        raise InvalidStatement(f"{where} must be an object")
    kind = obj.get("objectType", "Activity")
    if verb == VOIDED and kind != "StatementRef":
        raise InvalidStatement(f"{where} of a voiding statement must be a StatementRef")
    if kind == "Activity":
        _check_activity(obj, where)
    elif kind == "StatementRef":
        _check_uuid(obj.get("id"), f"{where}.id")
    elif kind in ("Agent", "Group"):
        _check_actor(obj, where)
    elif kind == "SubStatement":
        for key in ("actor", "verb", "object"):
            if key not in obj:
                raise InvalidStatement(f"{where}.{key} is required")
        for key in ("id", "stored", "version", "authority"):
            if key in obj:
                raise InvalidStatement(f"{where} must not have {key}")
        if isinstance(obj["object"], dict) and obj["object"].get("objectType") == "SubStatement":
            raise InvalidStatement(f"{where}.object must not be another SubStatement")
    else:
        raise InvalidStatement(f"{where}.objectType is not one xAPI defines: {kind!r}")


def _check_result(result: Any, where: str) -> None:
    if not isinstance(result, dict):
        raise InvalidStatement(f"{where} must be an object")
    _only(result, _RESULT_KEYS, where)
    if "extensions" in result:
        _check_extensions(result["extensions"], f"{where}.extensions")
    score = result.get("score")
    if score is None:
        return
    if not isinstance(score, dict) or set(score) - _SCORE_KEYS:
        raise InvalidStatement(f"{where}.score may hold only scaled, raw, min and max")
    for key, value in score.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidStatement(f"{where}.score.{key} must be a number")
    if "scaled" in score and not -1 <= score["scaled"] <= 1:
        raise InvalidStatement(f"{where}.score.scaled must be between -1 and 1")
    low, high = score.get("min"), score.get("max")
    if low is not None and high is not None and not low < high:
        raise InvalidStatement(f"{where}.score.min must be less than max")
    raw = score.get("raw")
    if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        raise InvalidStatement(f"{where}.score.raw must be between min and max")


def parse_timestamp(value: Any, where: str) -> datetime:
    """An ISO 8601 date and time; a bare date, basic format or "-00:00" is refused (xAPI 4.5)."""
    if not isinstance(value, str) or not _TIMESTAMP.match(value) or value.endswith("-00:00"):
        raise InvalidStatement(f"{where} must be an ISO 8601 date and time, e.g. "
                               f"2026-10-05T15:30:00Z: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidStatement(f"{where} must be an ISO 8601 timestamp: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def prepare(statement: dict[str, Any], stored: datetime) -> dict[str, Any]:
    """The statement as stored: an id assigned if it had none, ``stored`` set by us."""
    out = dict(statement)
    out["id"] = str(out.get("id") or uuid.uuid4()).lower()
    out["stored"] = stored.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    out.setdefault("version", VERSION)
    out.setdefault("timestamp", out["stored"])
    return out


def same_statement(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two statements with one id say the same thing (the LRS sets stored, authority)."""
    skip = {"stored", "authority", "version", "timestamp"}
    return ({k: v for k, v in a.items() if k not in skip}
            == {k: v for k, v in b.items() if k not in skip})


def voided_target(statement: Mapping[str, Any]) -> str:
    if statement.get("verb", {}).get("id") == VOIDED:
        return str(statement["object"]["id"]).lower()
    return ""


# ---- conversion ----------------------------------------------------------------------


def student_of(actor: Mapping[str, Any], home_page: str | None) -> StudentRef | None:
    """The student an actor names: an account on the district's home page, else an email.

    An account on any other system (the tool's own user ids) names no student:
    its name is not a SIS id, and guessing would put evidence on the wrong child.
    """
    account = actor.get("account")
    if (isinstance(account, dict) and home_page is not None
            and str(account.get("homePage", "")).rstrip("/") == home_page.rstrip("/")):
        return StudentRef("sourced_id", str(account["name"]))  # only the district's accounts
    mbox = actor.get("mbox")
    if isinstance(mbox, str) and mbox.startswith("mailto:"):
        return StudentRef("email", mbox[7:])
    return None


def case_items(statement: Mapping[str, Any]) -> tuple[str, ...]:
    """CASE item ids a statement names, for alignment without a crosswalk.

    Context activities or extension values that are CASE item URIs count, and so
    do extensions whose key mentions CASE with a bare UUID value.
    """
    found: list[str] = []
    context = _mapping(statement.get("context"))
    for group in _mapping(context.get("contextActivities")).values():
        for activity in group if isinstance(group, list) else [group]:
            if isinstance(activity, dict):
                found.extend(case_uris(str(activity.get("id", ""))))
    definition = _mapping(_mapping(statement.get("object")).get("definition"))
    for extensions in (context.get("extensions"), definition.get("extensions")):
        for key, value in _mapping(extensions).items():
            for text in _strings(value):
                found.extend(case_uris(text))
                if "case" in key.lower() and _UUID.match(text):
                    found.append(text)
    return tuple(dict.fromkeys(x.lower() for x in found))


def case_uris(text: str) -> list[str]:
    """The CASE item ids (lower case) in CASE item URIs found in ``text``."""
    return [found.lower() for found in _CASE_URI.findall(text)]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for entry in value:
            yield from _strings(entry)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def item_key(activity: str, case_ids: tuple[str, ...]) -> str:
    """An item per activity and the competencies it is said to assess.

    Two statements about one activity that name different CASE items are two
    items: otherwise the last statement's alignment would move every earlier
    student's score to another competency.

    >>> item_key("https://a.example/q/1", ())
    'https://a.example/q/1'
    >>> item_key("https://a.example/q/1", ("b", "a"))
    'https://a.example/q/1 [case a,b]'
    """
    if not case_ids:
        return activity
    key = f"{activity} [case {','.join(sorted(case_ids))}]"
    if len(key) <= 255:
        return key
    digest = hashlib.sha256(",".join(sorted(case_ids)).encode()).hexdigest()[:16]
    return f"{activity[:220]} [case {digest}]"


def title_of(obj: Mapping[str, Any]) -> str:
    names = _mapping(_mapping(obj.get("definition")).get("name"))
    for language in ("en-US", "en", "en-GB"):
        if language in names:
            return str(names[language])
    return str(next(iter(names.values()), obj.get("id", "")))


def score_of(result: Mapping[str, Any]) -> tuple[float, float | None] | None:
    """(score, maximum) from result.score: raw against min/max, else scaled as a percent."""
    score = (result or {}).get("score")
    if not score:
        return None
    raw, low, high = score.get("raw"), score.get("min"), score.get("max")
    if raw is not None and high is not None:
        base = low or 0.0
        return float(raw - base), float(high - base)
    if "scaled" in score:
        return max(float(score["scaled"]), 0.0) * 100, None
    return None


def to_records(statement: Mapping[str, Any], *, source: str,
               home_page: str | None) -> tuple[SourceItem, Score] | str:
    """A scored statement as an item and a score, or why it is not evidence."""
    obj = statement.get("object") or {}
    if obj.get("objectType", "Activity") != "Activity":
        return "its object is not an activity"
    scored = score_of(statement.get("result") or {})
    if scored is None:
        return "it has no score (result.score with raw and max, or scaled)"
    student = student_of(statement["actor"], home_page)
    if student is None:
        return ("its actor names no student: use an account on the district's home page "
                "(account.name = SIS id) or an mbox")
    when = parse_timestamp(statement.get("timestamp") or statement["stored"], "timestamp")
    cases = case_items(statement)
    key = item_key(str(obj["id"]), cases)
    item = SourceItem(source_system=source, sourced_id=key, title=title_of(obj),
                      kind="activity", result_value_max=scored[1],
                      learning_objectives=tuple(LearningObjectiveRef("CASE", i) for i in cases))
    record = Score(source_system=source, sourced_id=str(statement["id"]),
                   item_sourced_id=key, student=student, score=scored[0],
                   status=ScoreStatus.FULLY_GRADED.value, scored_at=when, max_score=scored[1])
    return item, record
