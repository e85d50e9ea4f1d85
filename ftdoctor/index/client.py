"""Questions to the package index: which versions exist, which files a version has (with hashes), what a
wheel contains and what its METADATA or one of its files says (or which strings a binary member holds), what a
file inside an sdist says."""

from __future__ import annotations

import io
import json
import re
import ssl
import struct
import tarfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from functools import cached_property

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from ftdoctor.errors import NetworkError
from ftdoctor.index.config import PipIndex

ACCEPT = "application/vnd.pypi.simple.v1+json"
TIMEOUT_S = 120


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    sha256: str
    requires_python: str = ""

    @property
    def version(self) -> str | None:
        return file_version(self.filename)

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


def file_version(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None


class LiveIndex:
    """The index pip is configured with, over HTTPS."""

    def __init__(self, config: PipIndex) -> None:
        self.config = config
        self._projects: dict[str, list[IndexFile]] = {}

    @cached_property
    def _ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.config.cert) if self.config.cert else ssl.create_default_context()

    def _get(self, url: str, headers: dict[str, str] | None = None) -> tuple[bytes, dict[str, str]]:
        request = urllib.request.Request(url, headers={"User-Agent": "ftdoctor", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=self._ssl) as response:
                return response.read(), {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as exc:
            raise NetworkError(f"the package index answered HTTP {exc.code} for {url.rsplit('/', 2)[-2] or url}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NetworkError(f"the package index could not be reached ({reason})",
                               hint="this command needs the network; check the connection or pip's index/proxy settings") from None

    def project_files(self, project: str) -> list[IndexFile]:
        if project not in self._projects:
            body, _ = self._get(f"{self.config.url}{project}/", {"Accept": ACCEPT})
            data = json.loads(body)
            self._projects[project] = [
                IndexFile(f["filename"], f["url"], f.get("hashes", {}).get("sha256", ""), f.get("requires-python") or "")
                for f in data["files"] if not f.get("yanked")
            ]
        return self._projects[project]

    def versions(self, project: str) -> list[str]:
        found = {v for f in self.project_files(project) if (v := f.version)}
        return sorted(found, key=Version)

    def files(self, project: str, version: str) -> list[IndexFile]:
        wanted = Version(version)
        return [f for f in self.project_files(project) if f.version and Version(f.version) == wanted]

    def wheel_listing(self, file: IndexFile) -> list[str]:
        return sorted(self._central_directory(file.url))

    def wheel_text(self, file: IndexFile, suffix: str) -> str | None:
        """The text of the first member whose path ends with `suffix` (e.g. '.dist-info/METADATA')."""
        entries = self._central_directory(file.url)
        name = next((n for n in sorted(entries) if n.endswith(suffix)), None)
        return None if name is None else self._member(file.url, entries[name]).decode("utf-8", "replace")

    def wheel_grep(self, file: IndexFile, suffix: str, pattern: str) -> list[str] | None:
        """Every distinct match of `pattern` (a bytes regex, ASCII) in the first member whose path ends with
        `suffix`, e.g. the arch list compiled into a shared library; None when there is no such member."""
        entries = self._central_directory(file.url)
        name = next((n for n in sorted(entries) if n.endswith(suffix)), None)
        if name is None:
            return None
        found = re.findall(pattern.encode("ascii"), self._member(file.url, entries[name]))
        return sorted({m.decode("ascii", "replace") for m in found})

    def sdist_text(self, file: IndexFile, suffix: str) -> str | None:
        body, _ = self._get(file.url)
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith(suffix)), None)
            handle = tar.extractfile(member) if member else None
            return handle.read().decode("utf-8", "replace") if handle else None

    def _range(self, url: str, header: str) -> tuple[bytes, int]:
        body, headers = self._get(url, {"Range": header})
        total = headers.get("content-range", "").rpartition("/")[2]
        return body, int(total) if total.isdigit() else len(body)

    def _central_directory(self, url: str) -> dict[str, tuple[int, int, int]]:
        """The zip's central directory (name -> method, compressed size, header offset), read from the file's tail."""
        tail, total = self._range(url, "bytes=-262144")
        end = tail.rfind(b"PK\x05\x06")
        size, offset = struct.unpack("<II", tail[end + 12:end + 20])
        if total - offset > len(tail):
            tail, total = self._range(url, f"bytes={offset}-{total - 1}")
        directory = tail[len(tail) - (total - offset):][:size]
        return _parse_directory(directory)

    def _member(self, url: str, entry: tuple[int, int, int]) -> bytes:
        method, csize, offset = entry
        body, _ = self._range(url, f"bytes={offset}-{offset + 30 + 1024 + csize}")
        name_len, extra_len = struct.unpack("<HH", body[26:30])
        raw = body[30 + name_len + extra_len:30 + name_len + extra_len + csize]
        return zlib.decompress(raw, -15) if method == 8 else raw


def _parse_directory(data: bytes) -> dict[str, tuple[int, int, int]]:
    entries, pos = {}, 0
    while pos + 46 <= len(data) and data[pos:pos + 4] == b"PK\x01\x02":
        method, = struct.unpack("<H", data[pos + 10:pos + 12])
        csize, = struct.unpack("<I", data[pos + 20:pos + 24])
        name_len, extra_len, comment_len = struct.unpack("<HHH", data[pos + 28:pos + 34])
        offset, = struct.unpack("<I", data[pos + 42:pos + 46])
        name = data[pos + 46:pos + 46 + name_len].decode("utf-8", "replace")
        entries[name] = (method, csize, offset)
        pos += 46 + name_len + extra_len + comment_len
    return entries
