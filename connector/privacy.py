"""Files this process creates are readable by its own user only, unless the district says so.

The SQLite file (names, emails, demographics) with its WAL and SHM, the OneRoster
bundles, the transcripts and the lock files all hold or reveal students' data.
Rather than remember a mode at every ``open``, the process starts with a umask
of 077: files 0600, folders 0700. A SIS importer that reads the bundle folder
under another account needs ``CONNECTOR_UMASK=027`` (group may read).
"""

from __future__ import annotations

import os

DEFAULT_UMASK = "077"


def apply_umask() -> int:
    """Set the process umask from ``CONNECTOR_UMASK`` (octal, default 077); returns it."""
    text = os.environ.get("CONNECTOR_UMASK", DEFAULT_UMASK).strip() or DEFAULT_UMASK
    try:
        mask = int(text, 8)
    except ValueError:
        raise SystemExit(f"CONNECTOR_UMASK must be an octal mask such as 077 or 027: "
                         f"{text!r}") from None
    if not 0 <= mask <= 0o777:
        raise SystemExit(f"CONNECTOR_UMASK must be between 000 and 777: {text!r}")
    os.umask(mask)
    return mask
