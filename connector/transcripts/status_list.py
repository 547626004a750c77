"""W3C Bitstring Status List: which issued credentials are revoked, as one published bitstring (pure).

Each issued transcript holds a place (``statusListIndex``) in the district's list; a
revocation sets its bit. A verifier fetches the list credential once and reads the
bit, so it never tells us which transcript it is checking. The list is at least
131,072 bits (16 KiB before compression, the specification's minimum) so that one
credential's bit cannot be singled out; gzip makes an almost empty list tiny.

``encodedList`` is multibase base64url (``u`` prefix, no padding) of the gzipped
bits, bit 0 being the most significant bit of the first byte.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable

#: The specification's minimum length, in bits.
MIN_BITS = 131_072


def encode(revoked: Iterable[int], *, size: int = MIN_BITS) -> str:
    """The ``encodedList`` with the bits at ``revoked`` set.

    >>> list(decode(encode([0, 9]))[:2])
    [128, 64]
    """
    indexes = sorted(set(revoked))
    if indexes and indexes[0] < 0:
        raise ValueError("a status list index is never negative")
    bits = max(size, MIN_BITS, (indexes[-1] + 1) if indexes else 0)
    data = bytearray((bits + 7) // 8)
    for index in indexes:
        data[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same list always compresses to the same bytes.
    packed = gzip.compress(bytes(data), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode(encoded: str) -> bytes:
    """The uncompressed bitstring of an ``encodedList``; ValueError if it is not one."""
    if not encoded.startswith("u"):
        raise ValueError("an encodedList is multibase base64url: it starts with 'u'")
    body = encoded[1:]
    try:
        return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"the encodedList is not gzipped base64url ({exc})") from None


def is_set(encoded: str, index: int) -> bool:
    """Whether the bit at ``index`` is set; ValueError if the list is shorter than that."""
    data = decode(encoded)
    if len(data) * 8 < MIN_BITS:
        raise ValueError(f"the status list holds {len(data) * 8} bits, fewer than the "
                         f"{MIN_BITS} the specification requires")
    if not 0 <= index < len(data) * 8:
        raise ValueError(f"status list index {index} is outside the list")
    return bool(data[index // 8] & (0x80 >> (index % 8)))
