"""Signed credentials of issued transcripts: CLR 2.0, Open Badges, the status list, verification.

A credential is made from an issued version's frozen snapshot and signed with the
district's Ed25519 key (``transcript.credential`` in ``district.yaml``), the proof dated
the moment of issue: exporting the same version twice gives the same file. Revoking
the version sets its bit in the district's Bitstring Status List, which this service
publishes (``/api/v1/districts/<key>/credentials/status``) and signs with the same key.

:func:`verify` checks a credential the way a college's software would: the 1EdTech
schema, every proof (the CLR's and each embedded AchievementCredential's), and the
revocation status.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.config.model import CredentialSettings, Settings
from connector.config.secrets import expand_references
from connector.errors import ConfigurationError, DataError
from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.transcripts import clr, signing, status_list
from connector.transcripts import workflow as wf
from connector.transcripts.snapshot import from_snapshot

KEY_ID = "key-1"
DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


def credential_settings(settings: Settings) -> CredentialSettings:
    found = settings.district.transcript.credential
    if found is None:
        raise ConfigurationError("signed credentials are not configured: add "
                                 "transcript.credential to district.yaml "
                                 "(docs/configuration.md)")
    return found


def key_path(settings: Settings) -> Path:
    """Where the signing key is, from the environment reference (or its default)."""
    return settings.resolve_path(expand_references(credential_settings(settings).signing_key_file))


def can_sign(settings: Settings) -> bool:
    """Whether credentials are configured and the key is in place (pages offer them then)."""
    if settings.district.transcript.credential is None:
        return False
    try:
        return key_path(settings).is_file()
    except ConfigurationError:  # the environment reference is not set
        return False


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    return signing.load_key(key_path(settings))


def issuer(settings: Settings) -> clr.Issuer:
    c = credential_settings(settings)
    return clr.Issuer(c.issuer_id, c.issuer_name or settings.district.name, c.issuer_url,
                      c.issuer_email)


def verification_method(settings: Settings) -> str:
    return f"{credential_settings(settings).issuer_id}#{KEY_ID}"


def status_list_url(settings: Settings) -> str:
    c = credential_settings(settings)
    return f"{c.public_url}/api/v1/districts/{settings.district.key}/credentials/status"


def issuer_document(settings: Settings) -> dict[str, Any]:
    """The issuer's controller (DID) document: the public key verifiers check proofs with.

    For ``did:web:<host>`` it is published at ``https://<host>/.well-known/did.json``.
    """
    c = credential_settings(settings)
    method = verification_method(settings)
    return {"@context": DID_CONTEXTS, "id": c.issuer_id,
            "verificationMethod": [{
                "id": method, "type": "Multikey", "controller": c.issuer_id,
                "publicKeyMultibase": signing.multikey(signing_key(settings).public_key())}],
            "assertionMethod": [method]}


def _issued(document: m.TranscriptDocument) -> None:
    if document.status not in wf.FROZEN or document.issued_at is None:
        raise DataError(f"version {document.version} of {document.student_sis_id} is "
                        f"{document.status}: only an issued transcript has a credential")


def export_clr(settings: Settings, document: m.TranscriptDocument) -> dict[str, Any]:
    """The signed ``ClrCredential`` of an issued (or since superseded or revoked) version."""
    _issued(document)
    assert document.issued_at is not None
    key, method, who = signing_key(settings), verification_method(settings), issuer(settings)
    created = clr.timestamp(document.issued_at)
    transcript = from_snapshot(document.snapshot)
    doc_key = str(document.id)
    nested = [signing.sign(c, key, verification_method=method, created=created)
              for c in clr.achievement_credentials(transcript, who, document_key=doc_key,
                                                   issued_at=document.issued_at)]
    status = (clr.StatusEntry(status_list_url(settings), document.status_index)
              if document.status_index is not None else None)
    unsigned = clr.clr_credential(transcript, who, document_key=doc_key,
                                  version=document.version, issued_at=document.issued_at,
                                  status=status, nested=nested)
    return signing.sign(unsigned, key, verification_method=method, created=created)


def export_badges(settings: Settings, document: m.TranscriptDocument) -> list[dict[str, Any]]:
    """One signed Open Badges 3.0 ``AchievementCredential`` per proficient competency."""
    _issued(document)
    assert document.issued_at is not None
    key, method = signing_key(settings), verification_method(settings)
    created = clr.timestamp(document.issued_at)
    return [signing.sign(c, key, verification_method=method, created=created)
            for c in clr.achievement_credentials(
                from_snapshot(document.snapshot), issuer(settings),
                document_key=str(document.id), issued_at=document.issued_at,
                proficient_only=True)]


def status_list_credential(session: Session, settings: Settings) -> dict[str, Any]:
    """The district's signed revocation list, dated its last change (so it is reproducible)."""
    revoked = list(session.scalars(select(m.TranscriptDocument.status_index).where(
        m.TranscriptDocument.status == wf.REVOKED,
        m.TranscriptDocument.status_index.is_not(None))))
    changed = [session.scalar(select(func.max(m.TranscriptDocument.closed_at)).where(
                   m.TranscriptDocument.status == wf.REVOKED)),
               session.scalar(select(func.max(m.TranscriptDocument.issued_at)))]
    known = [when for when in changed if when is not None]
    # Dated its last change, so the same state always gives the same signed list.
    since = max(known) if known else utcnow()
    url = status_list_url(settings)
    unsigned = {
        "@context": [signing.VC_V2], "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": credential_settings(settings).issuer_id,
        "validFrom": clr.timestamp(since),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList",
                              "statusPurpose": "revocation",
                              "encodedList": status_list.encode(i for i in revoked if i is not None)},
    }
    return signing.sign(unsigned, signing_key(settings),
                        verification_method=verification_method(settings),
                        created=clr.timestamp(since))


# --- verification ---------------------------------------------------------------------------


@cache
def clr_schema() -> jsonschema.protocols.Validator:
    """1EdTech's ClrCredential schema (draft 4), with one relaxation.

    The published draft predates VC 2.0's Bitstring Status List: its ``CredentialStatus``
    allows only ``id`` and ``type``, while a ``BitstringStatusListEntry`` must also say
    ``statusPurpose``, ``statusListIndex`` and ``statusListCredential``. Those three are
    allowed; everything else in the schema is applied as published (decision 0031).
    """
    schema = json.loads((files("connector.transcripts") / "contexts" /
                         "clr_v2p0_clrcredential_schema_draft4.json").read_text("utf-8"))
    schema["$defs"]["CredentialStatus"]["additionalProperties"] = True
    validator_class = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = validator_class(
        schema, format_checker=validator_class.FORMAT_CHECKER)
    return validator


@dataclass
class Verification:
    """Each check made, in order: (what, passed, detail)."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def add(self, what: str, ok: bool, detail: str = "") -> None:
        self.checks.append((what, ok, detail))

    def as_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "checks": [{"check": what, "passed": ok, "detail": detail}
                                                for what, ok, detail in self.checks]}


def _keys(settings: Settings | None, documents: Sequence[Mapping[str, Any]]
          ) -> dict[str, Ed25519PublicKey]:
    """Public keys by verification method id: the district's own, and any documents given."""
    found: dict[str, Ed25519PublicKey] = {}
    for doc in documents:
        for method in doc.get("verificationMethod", []) or []:
            if isinstance(method, Mapping) and method.get("publicKeyMultibase"):
                found[str(method.get("id"))] = signing.public_from_multikey(
                    str(method["publicKeyMultibase"]))
    if settings is not None and settings.district.transcript.credential is not None:
        # No key on this machine: only the documents given can verify.
        with contextlib.suppress(ConfigurationError):
            found[verification_method(settings)] = signing_key(settings).public_key()
    return found


def _check_proof(result: Verification, what: str, credential: Mapping[str, Any],
                 keys: Mapping[str, Ed25519PublicKey]) -> None:
    method = next((str(p.get("verificationMethod", "")) for p in signing.proofs(credential)), "")
    key = keys.get(method)
    if key is None and "#z" not in method:
        result.add(what, False, f"no public key for {method or 'an unnamed key'}: give the "
                                "issuer document (--issuer-document)")
        return
    try:
        signing.verify(credential, key)
    except signing.VerificationError as exc:
        result.add(what, False, exc.message)
        return
    result.add(what, True, f"signed by {method}")


def verify(credential: Any, *, session: Session | None = None, settings: Settings | None = None,
           issuer_documents: Sequence[Mapping[str, Any]] = (),
           status_lists: Sequence[Mapping[str, Any]] = ()) -> Verification:
    """Check the schema, every proof and the revocation status of ``credential``.

    The status list is the district's own (read from the store) when the credential
    names this service's list, else one of ``status_lists`` (fetched by the caller).
    """
    result = Verification()
    if not isinstance(credential, Mapping):
        result.add("credential", False, "the file is not a JSON object")
        return result
    types = credential.get("type") or []
    if "ClrCredential" in types:
        errors = sorted(clr_schema().iter_errors(credential), key=lambda e: list(e.path))
        result.add("CLR 2.0 schema", not errors, "; ".join(
            f"{e.json_path}: {e.message[:160]}" for e in errors[:5]) or "valid")
    elif "AchievementCredential" not in types and "OpenBadgeCredential" not in types:
        result.add("credential type", False, f"not a ClrCredential or an AchievementCredential: "
                                             f"{types!r}")
        return result
    keys = _keys(settings, issuer_documents)
    _check_proof(result, "proof", credential, keys)
    subject = credential.get("credentialSubject")
    inner = subject.get("verifiableCredential", []) if isinstance(subject, Mapping) else []
    embedded = Verification()
    for index, nested in enumerate(inner if isinstance(inner, list) else []):
        if isinstance(nested, Mapping):
            _check_proof(embedded, f"credentialSubject.verifiableCredential[{index}] proof",
                         nested, keys)
    if embedded.checks:
        # One line for the many that verify; each that does not is named.
        failed = [check for check in embedded.checks if not check[1]]
        result.checks += failed[:5]
        if len(failed) > 5:
            result.add("embedded credentials", False, f"and {len(failed) - 5} more proofs fail")
        if not failed:
            result.add("embedded credentials", True,
                       f"all {len(embedded.checks)} AchievementCredential proofs verify")
    _check_status(result, credential, session, settings, status_lists, keys)
    return result


def _check_status(result: Verification, credential: Mapping[str, Any], session: Session | None,
                  settings: Settings | None, lists: Sequence[Mapping[str, Any]],
                  keys: Mapping[str, Ed25519PublicKey]) -> None:
    entry = credential.get("credentialStatus")
    if entry is None:
        result.add("status", True, "the credential names no status list")
        return
    if not isinstance(entry, Mapping) or entry.get("type") != "BitstringStatusListEntry":
        result.add("status", False, "credentialStatus is not a BitstringStatusListEntry")
        return
    url = str(entry.get("statusListCredential", ""))
    try:
        index = int(str(entry.get("statusListIndex", "")))
    except ValueError:
        result.add("status", False, "statusListIndex is not a number")
        return
    listed: Mapping[str, Any] | None = next((s for s in lists if s.get("id") == url), None)
    if listed is None and session is not None and settings is not None \
            and settings.district.transcript.credential is not None \
            and url == status_list_url(settings):
        listed = status_list_credential(session, settings)
    if listed is None:
        result.add("status", False, f"the status list {url} is not at hand: give it with "
                                    "--status-list")
        return
    checked = Verification()
    _check_proof(checked, "status list proof", listed, keys)
    if not checked.valid:
        result.checks += checked.checks
        return
    subject = listed.get("credentialSubject")
    encoded = subject.get("encodedList") if isinstance(subject, Mapping) else None
    try:
        revoked = status_list.is_set(str(encoded), index)
    except ValueError as exc:
        result.add("status", False, str(exc))
        return
    result.add("status", not revoked, "revoked by the issuer" if revoked else "not revoked")
