"""Lists the distributions of the interpreter that runs it, as JSON on stdout.

Standard library only: it runs inside the *diagnosed* interpreter (`ftdoctor check --python PATH`), which
may lack every package ftdoctor depends on. Run in-process when that interpreter is ftdoctor's own. It is
started without -I so that PYTHONPATH and the user site count, as they do when the user runs that python.
"""

import ctypes
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
    except (ValueError, AttributeError):
        return None


def _tags(dist):
    text = _read(dist, "WHEEL") or ""
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Tag:")]


def _headers(dist):
    """The metadata's header fields (name -> values), read directly: the email parser importlib.metadata uses
    costs about a millisecond per distribution, and it would parse each file once per attribute asked."""
    text = _read(dist, "METADATA") or _read(dist, "PKG-INFO") or ""
    headers, key = {}, None
    for line in text.split("\n\n", 1)[0].splitlines():
        if line[:1] in (" ", "\t") and key:
            headers[key][-1] += " " + line.strip()  # a folded header line
            continue
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers.setdefault(key, []).append(value.strip())
    return headers


def _requires(dist, headers, info_name):
    if "requires-dist" in headers or not info_name.endswith(".egg-info"):
        return headers.get("requires-dist", [])
    return list(dist.requires or [])  # an egg-info keeps them in requires.txt


def _entry(dist, key, headers, location, info_name):
    return {
        "name": key,
        "version": (headers.get("version") or [""])[0],
        "location": location,
        "installer": (_read(dist, "INSTALLER") or "").strip() or None,
        "requires": _requires(dist, headers, info_name),
        "direct_url": _direct_url(dist),
        "wheel_tags": _tags(dist),
    }


def distributions(path):
    """The first copy of each distribution on `path` (the one imported), every copy's place, and the
    leftovers pip ignores ("~orch-2.1.0.dist-info" from an interrupted uninstall)."""
    first, copies, invalid = {}, {}, []
    for dist in metadata.distributions(path=path):
        info = getattr(dist, "_path", None)
        info_name = getattr(info, "name", "")
        if info_name.startswith("~"):
            invalid.append(str(info))
            continue
        headers = _headers(dist)
        name = (headers.get("name") or [None])[0]
        if not name:
            invalid.append(str(info) if info else repr(dist))
            continue
        key = _norm(name)
        location = str(dist.locate_file(""))
        version = (headers.get("version") or [""])[0]
        copies.setdefault(key, []).append(f"{version} @ {location}" + (f" ({info_name})" if info_name else ""))
        if key not in first:
            first[key] = _entry(dist, key, headers, location, info_name)
    duplicates = {k: v for k, v in copies.items() if len(v) > 1}
    return sorted(first.values(), key=lambda d: d["name"]), duplicates, invalid


def loaded_libstdcxx():
    """The libstdc++.so.6 this interpreter's loader resolves, read back from /proc/self/maps."""
    try:
        ctypes.CDLL("libstdc++.so.6")
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split(None, 5)[-1].strip()
                if "/libstdc++.so" in path:
                    return os.path.realpath(path)
    except OSError:
        pass
    return None


def _kind(prefix, base):
    if os.path.isdir(os.path.join(prefix, "conda-meta")):
        return "conda"
    if prefix != base:
        return "venv"
    return "system"


def _markers():
    return {
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
    }


def collect(path=None):
    """`path`: the import path to scan (default sys.path). ftdoctor's own process passes its sys.path
    without the launcher's first entry (its script folder or the current folder)."""
    dists, duplicates, invalid = distributions(sys.path if path is None else path)
    prefix, base = sys.prefix, getattr(sys, "base_prefix", sys.prefix)
    return {
        "executable": sys.executable,
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "prefix": prefix,
        "base_prefix": base,
        "kind": _kind(prefix, base),
        "distributions": dists,
        "duplicates": sorted(duplicates),
        "duplicate_locations": duplicates,
        "invalid_distributions": invalid,
        "libstdcxx_path": loaded_libstdcxx(),
        "markers": _markers(),
    }


if __name__ == "__main__":
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # ftdoctor's probe folder is no part of the diagnosed environment
    json.dump(collect(), sys.stdout)
