"""Signed credentials: eddsa-rdfc-2022 proofs, the Bitstring Status List and the CLR 2.0 shape.

The proof check is tried on a credential signed by other software (1EdTech's sample),
so our canonicalisation and signature bytes are the standard's, not only our own.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from connector.sync.credentials import clr_schema, verify
from connector.transcripts import clr, signing, status_list
from connector.transcripts.model import Transcript
from tests.unit.test_transcript_render import make_transcript

SAMPLE = Path(__file__).parents[1] / "fixtures" / "credentials" / "clr20-sample-simple.json"
ISSUER = clr.Issuer("did:web:lakeside.example", "Lakeside Regional School District",
                    url="https://lakeside.example")
METHOD = "did:web:lakeside.example#key-1"
WHEN = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
STATUS = clr.StatusEntry("https://connector.lakeside.example/api/v1/districts/lakeside/"
                         "credentials/status", 7)
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


CASE_URI = "https://case.lakeside.example/ims/case/v1p0/CFItems/8a0c5bd6-0a7c-4b4e-9d1c-3c9e0e1f2a11"


@pytest.fixture(scope="module")
def transcript() -> Transcript:
    """The render tests' transcript, its first competency carrying a CASE URI as imported."""
    t = make_transcript()
    section = t.academic[0]
    group = section.groups[0]
    first = replace(group.rows[0], identifier="8a0c5bd6-0a7c-4b4e-9d1c-3c9e0e1f2a11",
                    uri=CASE_URI, framework="Lakeside Academic Framework")
    group = replace(group, rows=(first, *group.rows[1:]))
    section = replace(section, groups=(group, *section.groups[1:]))
    return replace(t, academic=(section, *t.academic[1:]))


@pytest.fixture(scope="module")
def signed(transcript: Transcript) -> dict:
    created = clr.timestamp(WHEN)
    nested = [signing.sign(c, KEY, verification_method=METHOD, created=created)
              for c in clr.achievement_credentials(transcript, ISSUER, document_key="7",
                                                   issued_at=WHEN)]
    unsigned = clr.clr_credential(transcript, ISSUER, document_key="7", version=2,
                                  issued_at=WHEN, status=STATUS, nested=nested)
    return signing.sign(unsigned, KEY, verification_method=METHOD, created=created)


def test_a_proof_made_by_other_software_verifies() -> None:
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    badge = sample["credentialSubject"]["verifiableCredential"][0]
    # The key is the Multikey in the verification method's fragment.
    assert signing.verify(badge).endswith("#z6MkvREVgsHx7Ppae68vCoByy73ZD4aMSJiPML2cryVL8JAx")
    changed = copy.deepcopy(badge)
    changed["credentialSubject"]["achievement"]["name"] = "Teamwork!"
    with pytest.raises(signing.VerificationError, match="does not match"):
        signing.verify(changed)


def test_the_transcript_credential_passes_the_1edtech_clr_schema(signed: dict) -> None:
    errors = [f"{e.json_path}: {e.message}" for e in clr_schema().iter_errors(signed)]
    assert errors == []
    assert signed["type"] == ["VerifiableCredential", "ClrCredential"]
    assert signed["credentialStatus"] == {
        "id": f"{STATUS.list_url}#7", "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation", "statusListIndex": "7",
        "statusListCredential": STATUS.list_url}


def test_each_competency_is_an_achievement_aligned_to_its_case_item(
        signed: dict, transcript: Transcript) -> None:
    rows = [r for s in transcript.academic for g in s.groups for r in g.rows]
    achievements = signed["credentialSubject"]["achievement"]
    by_code = {a["humanCode"]: a for a in achievements}
    first = rows[0]
    defined = by_code[first.code]
    assert defined["achievementType"] == "Competency"
    assert defined["alignment"] == [{
        "type": ["Alignment"], "targetType": "CFItem", "targetUrl": CASE_URI,
        "targetName": first.statement, "targetCode": first.code,
        "targetFramework": "Lakeside Academic Framework"}]
    assert "alignment" not in by_code[rows[1].code]  # no CASE URI: no alignment invented
    levels = defined["resultDescription"][0]["rubricCriterionLevel"]
    assert [lv["level"] for lv in levels] == ["1", "2", "3", "4"]  # low to high
    assert defined["resultDescription"][0]["requiredLevel"] == levels[2]["id"]  # Proficient
    # The same competency has the same id on every student's credential.
    again = clr.achievement(transcript, ISSUER, "academic", "x", first)
    assert again["id"] == defined["id"]
    reached = [c for c in signed["credentialSubject"]["verifiableCredential"]
               if c["credentialSubject"]["achievement"]["id"] == defined["id"]]
    assert len(reached) == (1 if first.level_code else 0)
    if reached:
        result = reached[0]["credentialSubject"]["result"][0]
        assert result["status"] == ("Completed" if first.proficient else "InProgress")
        assert result["achievedLevel"] in {lv["id"] for lv in levels}


def test_a_signed_credential_verifies_and_any_changed_value_does_not(signed: dict) -> None:
    assert signing.verify(signed, KEY.public_key()) == METHOD
    for path, value in ((("name",), "Proficiency transcript of someone else"),
                        (("credentialSubject", "identifier", 0, "identityHash"), "LRS-20932"),
                        (("credentialStatus", "statusListIndex"), "8"),
                        (("validFrom",), "2026-12-04T16:00:00Z")):
        changed = copy.deepcopy(signed)
        target = changed
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        with pytest.raises(signing.VerificationError):
            signing.verify(changed, KEY.public_key())
    nested = copy.deepcopy(signed)
    result = nested["credentialSubject"]["verifiableCredential"][0]["credentialSubject"]
    result["result"][0]["status"] = "Completed" if result["result"][0]["status"] != \
        "Completed" else "InProgress"
    with pytest.raises(signing.VerificationError):  # the CLR's proof covers what it embeds
        signing.verify(nested, KEY.public_key())
    other = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    with pytest.raises(signing.VerificationError, match="another key"):
        signing.verify(signed, other.public_key())


def test_signing_is_reproducible_and_refuses_unknown_contexts(transcript: Transcript) -> None:
    one = clr.achievement_credentials(transcript, ISSUER, document_key="7", issued_at=WHEN)[0]
    a = signing.sign(one, KEY, verification_method=METHOD, created=clr.timestamp(WHEN))
    b = signing.sign(one, KEY, verification_method=METHOD, created=clr.timestamp(WHEN))
    assert a == b
    with pytest.raises(signing.VerificationError, match="no local copy"):
        signing.sign({**one, "@context": [*one["@context"], "https://example.com/ctx"]}, KEY,
                     verification_method=METHOD, created=clr.timestamp(WHEN))


def test_verification_reports_each_check(signed: dict) -> None:
    document = {"verificationMethod": [{"id": METHOD, "type": "Multikey",
                                        "publicKeyMultibase": signing.multikey(KEY.public_key())}]}
    listed = signing.sign({
        "@context": [signing.VC_V2], "id": STATUS.list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": ISSUER.id, "validFrom": clr.timestamp(WHEN),
        "credentialSubject": {"id": f"{STATUS.list_url}#list", "type": "BitstringStatusList",
                              "statusPurpose": "revocation",
                              "encodedList": status_list.encode([3])}},
        KEY, verification_method=METHOD, created=clr.timestamp(WHEN))
    good = verify(signed, issuer_documents=[document], status_lists=[listed])
    assert good.valid, good.checks
    assert [c[0] for c in good.checks] == ["CLR 2.0 schema", "proof", "embedded credentials",
                                           "status"]
    revoked = {**listed, "credentialSubject": {**listed["credentialSubject"],
                                               "encodedList": status_list.encode([7])}}
    # A list whose bits were changed by anyone but the issuer is refused...
    forged = verify(signed, issuer_documents=[document], status_lists=[revoked])
    assert not forged.valid and "status list proof" in [c[0] for c in forged.checks]
    # ... and one the issuer signed with bit 7 set says the credential is revoked.
    resigned = signing.sign({k: v for k, v in revoked.items() if k != "proof"}, KEY,
                            verification_method=METHOD, created=clr.timestamp(WHEN))
    said = verify(signed, issuer_documents=[document], status_lists=[resigned])
    assert not said.valid and ("status", False, "revoked by the issuer") in said.checks
    unknown = verify(signed, status_lists=[listed])
    assert not unknown.valid and "issuer document" in unknown.checks[1][2]
    missing = verify(signed, issuer_documents=[document])
    assert not missing.valid and "--status-list" in missing.checks[-1][2]
    assert not verify([1, 2]).valid and not verify({"type": ["Thing"]}).valid


@given(st.sets(st.integers(0, status_list.MIN_BITS - 1), max_size=40))
def test_a_status_list_sets_exactly_the_revoked_bits(revoked: set[int]) -> None:
    encoded = status_list.encode(revoked)
    assert encoded.startswith("u") and len(status_list.decode(encoded)) * 8 == status_list.MIN_BITS
    probes = revoked | {0, 1, 7, 8, status_list.MIN_BITS - 1}
    assert {i for i in probes if status_list.is_set(encoded, i)} == revoked


def test_a_bad_status_list_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="starts with 'u'"):
        status_list.is_set("z123", 0)
    with pytest.raises(ValueError, match="not gzipped"):
        status_list.is_set("uAAAA", 0)
    short = "u" + __import__("base64").urlsafe_b64encode(
        __import__("gzip").compress(b"\0" * 10)).decode().rstrip("=")
    with pytest.raises(ValueError, match="fewer than"):
        status_list.is_set(short, 0)
    with pytest.raises(ValueError, match="outside"):
        status_list.is_set(status_list.encode([]), status_list.MIN_BITS)


@given(st.binary(max_size=40))
def test_base58btc_round_trips(data: bytes) -> None:
    assert signing.from_base58btc(signing.base58btc(data)) == data


def test_a_key_is_an_ed25519_multikey() -> None:
    key = signing.multikey(KEY.public_key())
    assert key.startswith("z6Mk")
    assert signing.public_from_multikey(key) == KEY.public_key()
    with pytest.raises(signing.VerificationError):
        signing.public_from_multikey("z" + signing.base58btc(b"\x12\x00" + b"\1" * 32))
