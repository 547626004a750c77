"""An issued transcript as a 1EdTech CLR 2.0 ``ClrCredential`` (JSON-LD), before signing (pure).

Built only from the frozen snapshot, so the credential says exactly what the issued PDF
says. Each competency on the transcript is one ``Achievement`` (``achievementType``
Competency; habits of success ``ext:HabitOfSuccess``), aligned to its CASE item
(``targetType`` CFItem, ``targetUrl`` the CASE URI, ``targetCode`` the human coding
scheme), with the district's scale as its ``ResultDescription`` (one
``RubricCriterionLevel`` per level, ``requiredLevel`` the proficient one). Each
competency with a level is also one ``AchievementCredential`` in
``credentialSubject.verifiableCredential``, whose ``result`` names the level reached;
those are what a wallet can show or share one at a time, so each is signed on its own.

Every id is a name-based UUID (RFC 9562 version 5) of the issuer and what it names, so
the same achievement has the same id on every student's credential and exporting a
version twice gives the same document.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.errors import DataError
from connector.transcripts.model import Transcript, TranscriptRow
from connector.transcripts.pdf import summary_text
from connector.transcripts.signing import CLR_V2, OB_V3, VC_V2

#: Where 1EdTech publishes the ClrCredential JSON schema (named in ``credentialSchema``).
CLR_SCHEMA_URL = ("https://purl.imsglobal.org/spec/clr/v2p0/schema/json/"
                  "clr_v2p0_clrcredential_schema.json")
OB_SCHEMA_URL = ("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
                 "ob_v3p0_achievementcredential_schema.json")
SCHEMA_VALIDATOR = "1EdTechJsonSchemaValidator2019"


@dataclass(frozen=True)
class Issuer:
    """The issuer ``Profile``: the district, as configured under ``transcript.credential``."""

    id: str
    name: str
    url: str = ""
    email: str = ""

    def profile(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": ["Profile"], "name": self.name}
        if self.url:
            out["url"] = self.url
        if self.email:
            out["email"] = self.email
        return out


@dataclass(frozen=True)
class StatusEntry:
    """The credential's place in the district's revocation list (Bitstring Status List)."""

    list_url: str
    index: int

    def entry(self) -> dict[str, Any]:
        return {"id": f"{self.list_url}#{self.index}", "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation", "statusListIndex": str(self.index),
                "statusListCredential": self.list_url}


def timestamp(when: datetime) -> str:
    """An XML Schema dateTime in UTC to the second (``2026-12-03T16:00:00Z``)."""
    return when.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def name_id(issuer: Issuer, *parts: object) -> str:
    """A stable ``urn:uuid:`` for what ``parts`` name, within this issuer."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join([issuer.id, *map(str, parts)])))


def _level_id(issuer: Issuer, scale: str, code: str) -> str:
    return name_id(issuer, "scale", scale, "level", code)


def _rows(transcript: Transcript) -> list[tuple[str, str, TranscriptRow]]:
    """(kind, section title, row) for every row, academics first, in transcript order."""
    return [(section.kind, section.title, row)
            for section in (*transcript.academic, *transcript.habits)
            for group in section.groups for row in group.rows]


def achievement(transcript: Transcript, issuer: Issuer, kind: str, area: str,
                row: TranscriptRow) -> dict[str, Any]:
    """The district's definition of one competency as an OB 3.0 / CLR 2.0 ``Achievement``."""
    letter = transcript.letter
    ident = name_id(issuer, "achievement", row.identifier or row.code or row.statement)
    proficient = [lv for lv in letter.levels if lv.proficient]
    floor = min(proficient, key=lambda lv: lv.value) if proficient else None
    out: dict[str, Any] = {
        "id": ident, "type": ["Achievement"],
        "achievementType": "Competency" if kind == "academic" else "ext:HabitOfSuccess",
        "name": row.statement if not row.code else f"{row.code} {row.statement}",
        "description": row.statement,
        "criteria": {"narrative": " ".join(letter.method_sentences)
                     or f"Reached {floor.label if floor else 'proficiency'} on the "
                        f"{letter.scale_name}."},
        "creator": {"id": issuer.id, "type": ["Profile"]},
        "fieldOfStudy": area,
        "resultDescription": [{
            "id": f"{ident}#result", "type": ["ResultDescription"],
            "name": letter.scale_name, "resultType": "RubricCriterionLevel",
            "rubricCriterionLevel": [
                {"id": _level_id(issuer, letter.scale_name, lv.code),
                 "type": ["RubricCriterionLevel"], "name": lv.label, "level": lv.code,
                 "description": lv.description}
                for lv in reversed(letter.levels)],
            **({"requiredLevel": _level_id(issuer, letter.scale_name, floor.code)}
               if floor else {}),
        }],
    }
    if row.code:
        out["humanCode"] = row.code
    if row.target_dok is not None:
        out["tag"] = [f"DOK {row.target_dok}"]
    if row.uri:
        out["alignment"] = [{"type": ["Alignment"], "targetType": "CFItem",
                             "targetUrl": row.uri, "targetName": row.statement,
                             **({"targetCode": row.code} if row.code else {}),
                             **({"targetFramework": row.framework} if row.framework else {})}]
    return out


def _identifiers(transcript: Transcript) -> list[dict[str, Any]]:
    """The student, by SIS id.

    The name is in the credential's ``name``: the final CLR 2.0 adds an identity type
    ``name``, which the published draft-4 schema refuses.
    """
    return [{"type": "IdentityObject", "hashed": False,
             "identityHash": transcript.student.sis_id, "identityType": "sisSourcedId"}]


def achievement_credential(transcript: Transcript, issuer: Issuer, document_key: str,
                           issued: str, kind: str, area: str, row: TranscriptRow
                           ) -> dict[str, Any]:
    """One competency reached, as an OB 3.0 ``AchievementCredential`` (unsigned)."""
    defined = achievement(transcript, issuer, kind, area, row)
    result: dict[str, Any] = {"type": ["Result"],
                              "resultDescription": defined["resultDescription"][0]["id"],
                              "status": "Completed" if row.proficient else "InProgress"}
    if row.level_code is not None:
        result["achievedLevel"] = _level_id(issuer, transcript.letter.scale_name,
                                            row.level_code)
    subject: dict[str, Any] = {"type": ["AchievementSubject"],
                               "identifier": _identifiers(transcript),
                               "achievement": defined, "result": [result]}
    if row.achieved_on is not None:
        subject["activityEndDate"] = f"{row.achieved_on.isoformat()}T00:00:00Z"
    return {
        "@context": [VC_V2, OB_V3],
        "id": name_id(issuer, "transcript", document_key, row.identifier or row.code),
        "type": ["VerifiableCredential", "AchievementCredential"],
        "name": defined["name"],
        "issuer": issuer.profile(),
        "validFrom": issued, "issuanceDate": issued,
        "credentialSubject": subject,
        "credentialSchema": [{"id": OB_SCHEMA_URL, "type": SCHEMA_VALIDATOR}],
    }


def clr_credential(transcript: Transcript, issuer: Issuer, *, document_key: str,
                   version: int, issued_at: datetime, status: StatusEntry | None,
                   nested: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The transcript as an unsigned ``ClrCredential``.

    ``nested`` are the signed ``AchievementCredential``s (from
    :func:`achievement_credentials`); without them, unsigned ones are embedded.
    """
    issued = timestamp(issued_at)
    rows = _rows(transcript)
    if not rows:
        raise DataError("the transcript reports no competencies: there is nothing to credential")
    achievements: dict[str, dict[str, Any]] = {}
    for kind, area, row in rows:
        defined = achievement(transcript, issuer, kind, area, row)
        achievements.setdefault(defined["id"], defined)
    inner = list(nested) if nested is not None else achievement_credentials(
        transcript, issuer, document_key=document_key, issued_at=issued_at)
    if not inner:
        raise DataError("no competency on the transcript has a level yet: there is nothing "
                        "to credential")
    student = transcript.student
    credential: dict[str, Any] = {
        "@context": [VC_V2, CLR_V2, OB_V3],
        "id": name_id(issuer, "transcript", document_key),
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": issuer.profile(),
        "name": f"Proficiency transcript of {student.full_name}",
        "description": f"{summary_text(transcript)}. Issued by {transcript.district_name} "
                       f"on {transcript.issued_on.isoformat()} (version {version}).",
        "validFrom": issued,
        # The draft-4 CLR 2.0 schema still names the VC 1.1 date; both say the same moment.
        "issuanceDate": issued,
        "credentialSubject": {
            "type": ["ClrSubject"],
            "identifier": _identifiers(transcript),
            "achievement": list(achievements.values()),
            "verifiableCredential": inner,
        },
        "credentialSchema": [{"id": CLR_SCHEMA_URL, "type": SCHEMA_VALIDATOR}],
    }
    if status is not None:
        credential["credentialStatus"] = status.entry()
    return credential


def achievement_credentials(transcript: Transcript, issuer: Issuer, *, document_key: str,
                            issued_at: datetime, proficient_only: bool = False
                            ) -> list[dict[str, Any]]:
    """One unsigned ``AchievementCredential`` per competency with a level.

    With ``proficient_only``, the proficient ones: the Open Badges a student can share
    one at a time.
    """
    issued = timestamp(issued_at)
    return [achievement_credential(transcript, issuer, document_key, issued, kind, area, row)
            for kind, area, row in _rows(transcript)
            if row.level_code is not None and (row.proficient or not proficient_only)]
