"""Recorded index answers: a folder of JSON files (one per project) that stands in for the live index, so that
`ftdoctor matrix verify` runs offline in tests, and a recorder that writes them from a live run.

File URLs are stored without the index's host (`recorded:FILENAME`): the recordings describe what the index
said, not where it lives.
"""

from __future__ import annotations

import json
from pathlib import Path

from ftdoctor.errors import InputFileError, NetworkError
from ftdoctor.index.client import IndexFile


class RecordedIndex:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputFileError("no such folder of recorded index answers", where=str(folder))
        self._data: dict[str, dict] = {}

    def _project(self, project: str) -> dict:
        if project not in self._data:
            path = self.folder / f"{project}.json"
            try:
                self._data[project] = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise NetworkError(f"no recorded index answer for {project}", where=str(self.folder),
                                   hint="record it with `ftdoctor matrix verify --record DIR` (needs the network)") from None
            except ValueError as exc:
                raise InputFileError(f"not valid JSON ({exc})", where=str(path)) from None
        return self._data[project]

    def _answer(self, project: str, kind: str, key: str):
        table = self._project(project).get(kind, {})
        if key not in table:
            raise NetworkError(f"no recorded answer for {kind} {key} of {project}", where=str(self.folder),
                               hint="record again with `ftdoctor matrix verify --record DIR`")
        return table[key]

    def versions(self, project: str) -> list[str]:
        return list(self._project(project)["versions"])

    def files(self, project: str, version: str) -> list[IndexFile]:
        return [IndexFile(**f) for f in self._answer(project, "files", version)]

    def wheel_listing(self, file: IndexFile) -> list[str]:
        return list(self._answer(_project_of(file), "wheel_listing", file.filename))

    def wheel_text(self, file: IndexFile, suffix: str) -> str | None:
        return self._answer(_project_of(file), "wheel_text", f"{file.filename}|{suffix}")

    def wheel_grep(self, file: IndexFile, suffix: str, pattern: str) -> list[str] | None:
        return self._answer(_project_of(file), "wheel_grep", f"{file.filename}|{suffix}|{pattern}")

    def sdist_text(self, file: IndexFile, suffix: str) -> str | None:
        return self._answer(_project_of(file), "sdist_text", f"{file.filename}|{suffix}")


def _project_of(file: IndexFile) -> str:
    return file.url.removeprefix("recorded:").split("/", 1)[0]


class Recorder:
    """Asks a live index and keeps every answer, to be written out by `save`."""

    def __init__(self, live, keep_listing=lambda project: True) -> None:
        self.live = live
        self.keep_listing = keep_listing
        self.data: dict[str, dict] = {}

    def _put(self, project: str, kind: str, key: str, value) -> None:
        self.data.setdefault(project, {}).setdefault(kind, {})[key] = value

    def versions(self, project: str) -> list[str]:
        found = self.live.versions(project)
        self.data.setdefault(project, {})["versions"] = found
        return found

    def files(self, project: str, version: str) -> list[IndexFile]:
        found = self.live.files(project, version)
        self._put(project, "files", version, [
            {"filename": f.filename, "url": f"recorded:{project}/{f.filename}", "sha256": f.sha256, "requires_python": f.requires_python}
            for f in found
        ])
        return found

    def wheel_listing(self, file: IndexFile) -> list[str]:
        found = self.live.wheel_listing(file)
        self._put(_live_project(self, file), "wheel_listing", file.filename, found)
        return found

    def wheel_text(self, file: IndexFile, suffix: str) -> str | None:
        found = self.live.wheel_text(file, suffix)
        if found and suffix.endswith("METADATA"):
            found = found.split("\n\n", 1)[0] + "\n"  # the headers; the long description is not an answer anyone reads
        self._put(_live_project(self, file), "wheel_text", f"{file.filename}|{suffix}", found)
        return found

    def wheel_grep(self, file: IndexFile, suffix: str, pattern: str) -> list[str] | None:
        found = self.live.wheel_grep(file, suffix, pattern)  # the matches only: the member is megabytes of binary
        self._put(_live_project(self, file), "wheel_grep", f"{file.filename}|{suffix}|{pattern}", found)
        return found

    def sdist_text(self, file: IndexFile, suffix: str) -> str | None:
        found = self.live.sdist_text(file, suffix)
        self._put(_live_project(self, file), "sdist_text", f"{file.filename}|{suffix}", found)
        return found

    def save(self, folder: str | Path) -> list[Path]:
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for project, data in sorted(self.data.items()):
            path = out / f"{project}.json"
            path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            written.append(path)
        return written


def _live_project(recorder: Recorder, file: IndexFile) -> str:
    for project, data in recorder.data.items():
        for files in data.get("files", {}).values():
            if any(f["filename"] == file.filename for f in files):
                return project
    return file.filename.split("-", 1)[0].replace("_", "-").lower()
