"""Run inside the diagnosed interpreter. Standard library only: it runs in environments that may lack the rest.

    python -I env_child.py NAME...            each distribution's version and installed files (from RECORD)
    python -I env_child.py --copies NAME...   every .dist-info of those names on sys.path, with its version and
                                              whether it has a RECORD (a half-finished install may lack one)
"""

import json
import sys
from importlib import metadata


def _norm(name):
    return name.lower().replace("_", "-").replace(".", "-")


def describe(name):
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    files = [str(dist.locate_file(f)) for f in (dist.files or [])]
    return {"version": dist.version, "files": files}


def copies(names):
    wanted = {_norm(n) for n in names}
    found = []
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        path = getattr(dist, "_path", None)
        if name and path is not None and _norm(name) in wanted:
            found.append({"name": _norm(name), "version": dist.version, "path": str(path), "record": dist.read_text("RECORD") is not None})
    return found


if __name__ == "__main__":
    if sys.argv[1:2] == ["--copies"]:
        print(json.dumps(copies(sys.argv[2:])))
    else:
        print(json.dumps({name: describe(name) for name in sys.argv[1:]}))
