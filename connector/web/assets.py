"""Fetch the pinned front-end files from the npm registry: ``python connector/web/assets.py``.

The registry's tarball for each package is checked against the ``integrity`` hash the
registry published for that version (Subresource Integrity form, ``sha512-<base64>``)
before one file is taken out of it, so a changed or truncated download is refused
rather than served. Nothing is committed: the Makefile runs this once per checkout,
and again when ``assets.json`` changes. It uses the standard library only and is run as
a script, so it works before the package and its dependencies are installed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

LOCK = Path(__file__).with_name("assets.json")
REGISTRY = os.environ.get("CONNECTOR_NPM_REGISTRY", "https://registry.npmjs.org")


class AssetError(Exception):
    pass


def tarball_url(package: str, version: str) -> str:
    """Where the registry keeps a version's tarball.

    >>> tarball_url("htmx.org", "2.0.4")
    'https://registry.npmjs.org/htmx.org/-/htmx.org-2.0.4.tgz'
    """
    name = package.rsplit("/", 1)[-1]
    return f"{REGISTRY}/{package}/-/{name}-{version}.tgz"


def verified(data: bytes, integrity: str) -> bytes:
    """``data`` when its hash is the one published, else an error that says so.

    >>> verified(b"x", "sha512-" + base64.b64encode(hashlib.sha512(b"x").digest()).decode())
    b'x'
    """
    algorithm, _, expected = integrity.partition("-")
    if algorithm not in ("sha512", "sha384", "sha256"):
        raise AssetError(f"unsupported integrity algorithm {algorithm!r}")
    got = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if got != expected:
        raise AssetError(f"integrity mismatch: expected {integrity}, got {algorithm}-{got}")
    return data


def extract(tarball: bytes, member: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        found = archive.extractfile(member)
        if found is None:
            raise AssetError(f"{member} is not a file in the package")
        return found.read()


def fetch(root: Path, lock: Path = LOCK) -> list[Path]:
    """Every pinned file under ``root`` (the checkout); files already there are kept."""
    written = []
    for asset in json.loads(lock.read_text())["assets"]:
        target = root / asset["to"]
        url = tarball_url(asset["package"], asset["version"])
        try:
            with urllib.request.urlopen(url, timeout=60) as answer:
                data = verified(answer.read(), asset["integrity"])
        except OSError as exc:
            raise AssetError(f"{asset['package']}@{asset['version']}: {url}: {exc}") from exc
        except AssetError as exc:
            raise AssetError(f"{asset['package']}@{asset['version']}: {exc}") from exc
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".partial")
        partial.write_bytes(extract(data, asset["file"]))
        partial.replace(target)  # never a half-written file in place
        written.append(target)
    return written


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    try:
        for path in fetch(root):
            print(f"fetched {path.relative_to(root)}")
    except AssetError as exc:
        print(f"assets: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
