"""The line protocol every smoke runner speaks on stdout. Standard library only.

    {"event": "stage", "stage": "import flash_attn"}      before each step that may crash or hang
    {"event": "result", "status": "ok", "reason": "", "details": {...}}   exactly once, at the end

`status` is "ok", "failed" or "skipped"; the parent turns a missing result into "crashed" or "timeout".
"""

import json
import sys
import traceback

MESSAGE_LIMIT = 2000
_current = {"stage": ""}


def run(main):
    """Run a runner's `main`; an exception it does not handle becomes a failed result naming the stage."""
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none escapes as a traceback only
        detail = error(exc)
        result("failed", f"{_current['stage']}: {detail['error_type']}: {detail['error']}", **detail)


def stage(name):
    _current["stage"] = name
    _emit({"event": "stage", "stage": name})


def result(status, reason="", **details):
    _emit({"event": "result", "status": status, "reason": reason, "details": details})


def error(exc):
    """An exception as plain data: its type, its message, and where it was raised (last frames)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    out = {
        "error_type": type(exc).__name__,
        "error": str(exc)[:MESSAGE_LIMIT],
        "where": [f"{f.filename}:{f.lineno}" for f in frames],
    }
    if isinstance(exc, ModuleNotFoundError):
        out["missing_module"] = exc.name
    return out


def installed(distribution):
    """The installed version of a distribution, or None, without importing it."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _emit(record):
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()
