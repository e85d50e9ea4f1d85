"""Lists the distributions of the interpreter that runs it, as JSON on stdout.

Standard library only: it runs inside the *diagnosed* interpreter (`ftdoctor check --python PATH`), which
may lack every package ftdoctor depends on. Run in-process when that interpreter is ftdoctor's own.
"""

import json
import os
import platform
import re
import sys
from importlib import metadata


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _read(dist, name):
    try:
        return dist.read_text(name)
    except Exception:  # a damaged .dist-info is itself reported through missing fields
        return None


def _direct_url(dist):
    text = _read(dist, "direct_url.json")
    if not text:
        return None
    try:
        return json.loads(text).get("url")
    except ValueError:
        return None


def _tags(dist):
    text = _read(dist, "WHEEL") or ""
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Tag:")]


def collect():
    seen = {}
    dists = []
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if not name:
            continue
        key = _norm(name)
        location = str(dist.locate_file(""))
        seen.setdefault(key, []).append(location)
        if len(seen[key]) > 1:
            continue  # the first on sys.path is the one imported; later copies are reported as duplicates
        dists.append(
            {
                "name": key,
                "version": dist.version or "",
                "location": location,
                "installer": (_read(dist, "INSTALLER") or "").strip() or None,
                "requires": list(dist.requires or []),
                "direct_url": _direct_url(dist),
                "wheel_tags": _tags(dist),
            }
        )
    prefix, base = sys.prefix, getattr(sys, "base_prefix", sys.prefix)
    if os.path.isdir(os.path.join(prefix, "conda-meta")):
        kind = "conda"
    elif prefix != base:
        kind = "venv"
    else:
        kind = "system"
    return {
        "executable": sys.executable,
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "prefix": prefix,
        "base_prefix": base,
        "kind": kind,
        "distributions": sorted(dists, key=lambda d: d["name"]),
        "duplicates": sorted(k for k, v in seen.items() if len(set(v)) > 1),
        "markers": {
            "python_version": ".".join(platform.python_version_tuple()[:2]),
            "python_full_version": platform.python_version(),
            "implementation_name": sys.implementation.name,
            "platform_python_implementation": platform.python_implementation(),
            "sys_platform": sys.platform,
            "platform_system": platform.system(),
            "platform_machine": platform.machine(),
            "platform_release": platform.release(),
            "os_name": os.name,
            "implementation_version": platform.python_version(),
            "platform_version": platform.version(),
        },
    }


if __name__ == "__main__":
    json.dump(collect(), sys.stdout)
