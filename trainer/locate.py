"""Where a name in the config points on this machine: a local path (against the config's folder first, then
the working directory, as Axolotl resolves it), a snapshot in the local Hugging Face cache, or a hub name
that cannot be read offline. Nothing here touches the network."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


@dataclass(frozen=True)
class Located:
    kind: str  # "local" | "cache" | "hub" (not available offline) | "missing" (a local path that is not there)
    name: str
    path: Path | None = None
    note: str = ""  # e.g. "found against the working directory, not the config's folder"


def looks_local(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~", ".\\")) or name.count("/") >= 2 or not HUB_NAME.match(name) \
        or Path(name).suffix.lower() in (".json", ".jsonl", ".parquet", ".csv", ".txt", ".arrow")


def locate_path(name: str, config_folder: Path) -> Located | None:
    """A local file or directory named by `name`, or None when there is none."""
    raw = Path(os.path.expanduser(name))
    if raw.is_absolute():
        return Located("local", name, raw) if raw.exists() else None
    beside = config_folder / raw
    here = Path.cwd() / raw
    if beside.exists():
        if here.exists() or _same_folder(config_folder, Path.cwd()):
            return Located("local", name, beside)
        return Located("local", name, beside, note=f"found beside the config ({config_folder}) but not from the "
                       f"current folder ({Path.cwd()}): ftdoctor reads it there, while Axolotl resolves relative "
                       "paths against the folder it is launched from (launch it from the config's folder)")
    if here.exists():
        return Located("local", name, here, note=f"found against the working directory ({Path.cwd()}), not the "
                       f"config's folder ({config_folder}); it works only when launched from there")
    return None


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def hub_cache_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(variable):
            return Path(env[variable]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    base = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def cached_snapshot(name: str, kind: str = "models", env: dict[str, str] | None = None) -> Path | None:
    """The snapshot folder of `name` in the local hub cache (`refs/main` first, else the newest one)."""
    repo = hub_cache_dir(env) / f"{kind}--{name.replace('/', '--')}"
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = repo / "refs" / "main"
    if ref.is_file():
        chosen = snapshots / ref.read_text(encoding="utf-8").strip()
        if chosen.is_dir():
            return chosen
    folders = [p for p in snapshots.iterdir() if p.is_dir()]
    return max(folders, key=lambda p: p.stat().st_mtime) if folders else None


def locate(name: str, config_folder: Path, kind: str = "models") -> Located:
    found = locate_path(name, config_folder)
    if found is not None:
        return found
    if looks_local(name):
        return Located("missing", name, config_folder / Path(os.path.expanduser(name)))
    snapshot = cached_snapshot(name, kind)
    if snapshot is not None:
        return Located("cache", name, snapshot, note=f"from the local hub cache ({snapshot})")
    return Located("hub", name, note=f"not a local path and not in the local hub cache ({hub_cache_dir()})")
