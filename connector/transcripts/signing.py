"""Sign and verify credentials as W3C VC Data Integrity proofs, cryptosuite ``eddsa-rdfc-2022``.

The proof is what lets a college trust a transcript it did not fetch from us: an
Ed25519 signature over the credential's meaning, not its bytes. Both the document
(without its proof) and the proof's options are canonicalised to RDF N-Quads with
RDFC-1.0 (pyld's URDNA2015, the same algorithm), each hashed with SHA-256, and the
two hashes concatenated are what the key signs (VC Data Integrity EdDSA Cryptosuites
v1.0, section 3.3). A verifier anywhere (1EdTech's validator, a wallet) recomputes the
same bytes.

Two rules keep it safe:

- Every JSON-LD context comes from a copy shipped with the package
  (``contexts/``), never the network: a context fetched at signing time could change
  what a signature means, or make signing fail when the network does.
- Canonicalisation runs in pyld's *safe mode*: a property no context defines would
  be silently dropped from the signed graph (and could then be changed freely), so
  it is an error instead.

Keys are Ed25519, published as Multikey (``z6Mk...``: base58btc of the 0xed01 prefix
and the 32-byte public key).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

from connector.errors import ConfigurationError, DataError

VC_V2 = "https://www.w3.org/ns/credentials/v2"
CLR_V2 = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
#: The contexts we hold a copy of, by the URL credentials name them with.
CONTEXTS = {VC_V2: "credentials-v2.jsonld", CLR_V2: "clr-v2p0-context-2.0.1.json",
            OB_V3: "ob-v3p0-context-3.0.3.json"}
CRYPTOSUITE = "eddsa-rdfc-2022"
_MULTIKEY_ED25519 = b"\xed\x01"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class VerificationError(DataError):
    """A credential, or one of its proofs, does not verify; the message says which and why."""


# --- multibase and keys ---------------------------------------------------------------------


def base58btc(data: bytes) -> str:
    """Base58 (Bitcoin alphabet), as multibase ``z`` values carry it.

    >>> base58btc(bytes([0, 0, 1]))
    '112'
    """
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = _B58[digit] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def from_base58btc(text: str) -> bytes:
    """The bytes of a base58btc string; DataError on a character outside the alphabet."""
    number = 0
    for ch in text:
        digit = _B58.find(ch)
        if digit < 0:
            raise DataError(f"{ch!r} is not a base58btc character")
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def multikey(public: Ed25519PublicKey) -> str:
    """The public key as a Multikey ``publicKeyMultibase`` (``z6Mk...``)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58btc(_MULTIKEY_ED25519 + raw)


def public_from_multikey(value: str) -> Ed25519PublicKey:
    if not value.startswith("z"):
        raise VerificationError(f"{value[:20]!r} is not a base58btc multibase key")
    raw = from_base58btc(value[1:])
    if raw[:2] != _MULTIKEY_ED25519 or len(raw) != 34:
        raise VerificationError("the verification method's key is not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def new_key() -> bytes:
    """A new Ed25519 private key as PKCS#8 PEM, for ``connector transcripts keygen``."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


def load_key(path: Path) -> Ed25519PrivateKey:
    """The district's signing key from its PEM file; a sentence, not a traceback, if wrong."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigurationError(f"the signing key file {path} does not exist") from None
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"the signing key file {path} is not an unencrypted PEM "
                                 f"private key ({type(exc).__name__})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"the signing key in {path} is not an Ed25519 key "
                                 "(make one with `connector transcripts keygen`)")
    return key


# --- canonicalisation -----------------------------------------------------------------------


@cache
def _context(name: str) -> Any:
    return json.loads((files("connector.transcripts") / "contexts" / name).read_text("utf-8"))


def _loader(url: str, options: Any = None) -> dict[str, Any]:
    name = CONTEXTS.get(url)
    if name is None:
        raise jsonld.JsonLdError(f"no local copy of the JSON-LD context {url}; credentials "
                                 "may use only " + ", ".join(CONTEXTS), "loading document failed")
    return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(_context(name))}


def canonical_nquads(document: Mapping[str, Any]) -> str:
    """The document's RDF dataset, canonicalised (RDFC-1.0) as N-Quads."""
    try:
        nquads: str = jsonld.normalize(dict(document), {
            "algorithm": "URDNA2015", "format": "application/n-quads", "safe": True,
            "documentLoader": _loader})
    except jsonld.JsonLdError as exc:
        raise VerificationError(f"the credential is not JSON-LD these contexts can read: "
                                f"{_cause(exc)}") from None
    return nquads


def _cause(exc: BaseException) -> str:
    """The innermost message of a pyld error (it nests them several deep)."""
    while isinstance(exc.__cause__, jsonld.JsonLdError):
        exc = exc.__cause__
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _hash_data(document: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    config = {**{k: v for k, v in options.items() if k != "proofValue"},
              "@context": document["@context"]}
    return (hashlib.sha256(canonical_nquads(config).encode("utf-8")).digest()
            + hashlib.sha256(canonical_nquads(unsigned).encode("utf-8")).digest())


# --- sign and verify ------------------------------------------------------------------------


def sign(document: Mapping[str, Any], key: Ed25519PrivateKey, *, verification_method: str,
         created: str) -> dict[str, Any]:
    """The document with a ``DataIntegrityProof`` added.

    ``created`` (an XML Schema dateTime, ``...Z``) is part of what is signed; with the
    same document, key and time the result is the same bytes (Ed25519 is
    deterministic), so exporting a credential twice gives one file.
    """
    options = {"type": "DataIntegrityProof", "cryptosuite": CRYPTOSUITE, "created": created,
               "verificationMethod": verification_method, "proofPurpose": "assertionMethod"}
    signature = key.sign(_hash_data(document, options))
    return {**document, "proof": {**options, "proofValue": "z" + base58btc(signature)}}


def proofs(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("proof")
    if isinstance(found, Mapping):
        return [found]
    if isinstance(found, list) and all(isinstance(p, Mapping) for p in found):
        return found
    return []


def verify(document: Mapping[str, Any], public: Ed25519PublicKey | None = None) -> str:
    """Check the document's one eddsa-rdfc-2022 proof; the verification method it names.

    Without ``public``, the key is read from the verification method's fragment when it
    is a Multikey (``...#z6Mk...``, as ``did:key`` and many issuers publish). Raises
    :class:`VerificationError` saying what failed.
    """
    found = proofs(document)
    if len(found) != 1:
        raise VerificationError(f"expected one proof, found {len(found)}")
    proof = found[0]
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != CRYPTOSUITE:
        raise VerificationError(f"the proof is {proof.get('type')}/{proof.get('cryptosuite')}, "
                                f"not DataIntegrityProof/{CRYPTOSUITE}")
    if proof.get("proofPurpose") != "assertionMethod":
        raise VerificationError("the proof's purpose is not assertionMethod")
    method = str(proof.get("verificationMethod", ""))
    value = str(proof.get("proofValue", ""))
    if not value.startswith("z"):
        raise VerificationError("the proof value is not base58btc multibase")
    if public is None:
        public = public_from_multikey(method.rsplit("#", 1)[-1])
    try:
        signature = from_base58btc(value[1:])
    except DataError:
        raise VerificationError("the proof value is not base58btc") from None
    try:
        public.verify(signature, _hash_data(document, proof))
    except InvalidSignature:
        raise VerificationError("the signature does not match the credential: it was "
                                "changed after signing, or signed by another key") from None
    return method
