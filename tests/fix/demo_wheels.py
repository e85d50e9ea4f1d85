"""Tiny wheels built by hand (a zip with a .dist-info), so that fix's apply and rollback run real pip installs
with no network: demo-a 1.0/2.0, demo-b 1.0, and a broken demo-b 2.0 that needs demo-a>=2.0 and whose install
fails after demo-a 2.0 went in (it holds a file that would land outside site-packages, which pip refuses)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build(folder: Path, name: str, version: str, requires: tuple[str, ...] = (), broken: bool = False) -> Path:
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist_info}/METADATA": ("Metadata-Version: 2.1\n" f"Name: {name}\nVersion: {version}\n"
                                  + "".join(f"Requires-Dist: {r}\n" for r in requires)).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: ftdoctor-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if broken:
        files["../../escaped.txt"] = b"outside the target directory\n"
    record = [_record_line(n, d) for n, d in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        for n, d in files.items():
            whl.writestr(n, d)
    return path


def build_all(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    build(folder, "demo-a", "1.0")
    build(folder, "demo-a", "2.0")
    build(folder, "demo-b", "1.0", ("demo-a",))
    build(folder, "demo-b", "2.0", ("demo-a>=2.0",), broken=True)
    return folder
