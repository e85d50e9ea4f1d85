"""The full set of files a lock installs, asked from pip's resolver against the package index.

The lock's own choice covers the packages whose compatibility ftdoctor knows (torch, the HF stack, the extras);
pip's resolver (a dry run for the target's platform and Python, `--report`) adds every dependency and gives the
exact file and its hash. A resolution can be stored (lockfiles/*.json) without URLs, so lockfiles regenerate
offline from the matrix plus the recorded resolution.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from ftdoctor.errors import InputFileError, NetworkError
from ftdoctor.lock.proposal import Proposal
from ftdoctor.lock.target import Target
from ftdoctor.typed_data import DataError, from_plain, to_plain

RESOLUTION_SCHEMA = "ftdoctor-resolution/1"
TIMEOUT_S = 900


@dataclass(frozen=True)
class ResolvedFile:
    name: str
    version: str
    filename: str
    sha256: str
    requested: bool  # a direct pin (True) or a dependency pip added
    url: str = ""  # kept only in memory / pylock output, never in a stored resolution


@dataclass(frozen=True)
class Resolution:
    schema: str
    resolved_by: str  # "pip 23.2.1, dry run for cp312 manylinux_2_35_x86_64"
    direct: tuple[str, ...]  # the requirement lines it was made for
    files: tuple[ResolvedFile, ...]

    def stored(self) -> str:
        plain = to_plain(self)
        for f in plain["files"]:
            f.pop("url", None)
        return json.dumps(plain, indent=1, sort_keys=True) + "\n"


def load(path: Path) -> Resolution:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != RESOLUTION_SCHEMA:
            raise DataError("schema", f"expected {RESOLUTION_SCHEMA!r}")
        return from_plain(Resolution, data)
    except (OSError, ValueError, DataError) as exc:
        raise InputFileError(f"not a usable recorded resolution ({exc})", where=str(path)) from None


def resolvable_lines(proposal: Proposal, matrix) -> list[str]:
    """What pip is asked to resolve: every pin except wheels from outside the index (flash-attn) and source
    builds; DeepSpeed (sdist only) is replaced by its Requires-Dist and added back with its sdist hash."""
    lines = []
    for pin in proposal.pins:
        if pin.url or pin.build:
            continue
        if pin.name == "deepspeed":
            lines.extend(r for r in matrix.deepspeed.requires if not r.startswith("torch"))
            continue
        lines.append(f"{pin.name}=={pin.version}")
    return lines


def platform_args(target: Target) -> list[str]:
    """pip's target-environment flags: every manylinux tag up to the target's glibc (2.35 when unknown)."""
    arch = target.platform.removeprefix("linux_")
    glibc = Version(target.glibc or "2.35")
    tags = [f"manylinux_2_{m}_{arch}" for m in range(glibc.minor, 4, -1)]
    tags += [f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}", f"linux_{arch}"]
    py = target.python.replace(".", "")
    args = ["--python-version", target.python, "--implementation", "cp", "--abi", f"cp{py}", "--abi", "abi3", "--abi", "none"]
    for tag in tags:
        args += ["--platform", tag]
    return args


def ask_pip(lines: list[str], target: Target, indexes: list[str], pip_args: list[str], python: str = sys.executable) -> dict:
    """Run pip's resolver (dry run) and return its installation report."""
    with tempfile.TemporaryDirectory(prefix="ftdoctor-resolve-") as tmp:
        reqs, report = Path(tmp, "requirements.txt"), Path(tmp, "report.json")
        reqs.write_text("\n".join(lines) + "\n", encoding="utf-8")
        extra = [a for index in indexes for a in ("--extra-index-url", index)]
        command = [python, "-m", "pip", "install", *pip_args, "--dry-run", "--ignore-installed", "--quiet",
                   "--target", str(Path(tmp, "target")), "--report", str(report), "--only-binary=:all:",
                   "--use-feature=fast-deps", *platform_args(target), *extra, "-r", str(reqs)]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise NetworkError(f"pip's resolver did not answer within {TIMEOUT_S} s", hint="check the network and the index") from None
        if proc.returncode != 0:
            raise _pip_error(proc.stderr, indexes)
        return json.loads(report.read_text(encoding="utf-8"))


def _pip_error(stderr: str, indexes: list[str]) -> NetworkError:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip().startswith("ERROR")]
    last = lines[-1] if lines else (stderr.strip().splitlines() or ["pip failed"])[-1]
    if any(word in stderr for word in ("NewConnectionError", "Failed to establish", "Name or service not known",
                                        "Temporary failure in name resolution", "Max retries exceeded", "SSLError")):
        where = "the package index" + (f" or {', '.join(indexes)}" if indexes else "")
        return NetworkError(f"pip could not reach {where} ({last})",
                            hint="resolving needs the network; without --resolve the lock is written offline")
    return NetworkError(f"pip's resolver refused the pins: {last}", hint="the index does not hold a file the lock needs for this target")


def from_report(report: dict, lines: list[str], deepspeed=None, direct: set[str] | None = None) -> Resolution:
    """`direct`: the names the lock pinned itself (the rest are dependencies, whatever pip was asked)."""
    files = []
    for item in report["install"]:
        meta, info = item["metadata"], item["download_info"]
        sha = info.get("archive_info", {}).get("hashes", {}).get("sha256", "")
        url = info["url"]
        name = meta["name"].lower().replace("_", "-").replace(".", "-")
        requested = name in direct if direct is not None else bool(item.get("requested"))
        files.append(ResolvedFile(name, meta["version"], url.rsplit("/", 1)[-1], sha, requested, url))
    if deepspeed is not None:
        files.append(deepspeed)
    files.sort(key=lambda f: (not f.requested, f.name))
    resolved_by = f"pip {report.get('pip_version', '?')} dry run"
    return Resolution(RESOLUTION_SCHEMA, resolved_by, tuple(lines), tuple(files))


def matches(resolution: Resolution, proposal: Proposal, matrix) -> bool:
    """A recorded resolution still belongs to this proposal when it was made for exactly these pins."""
    return list(resolution.direct) == resolvable_lines(proposal, matrix)
