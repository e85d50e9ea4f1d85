"""Name the cause behind a smoke test's error text or output tail.

This is the seam for `ftdoctor explain` (issue 7): once its log diagnosis lands, `name_cause` should ask it
and keep these patterns only as a fallback. Until then it knows the causes smoke output shows most often.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ftdoctor.findings import Fix


@dataclass(frozen=True)
class Cause:
    summary: str  # one line: what the text means
    fixes: tuple[Fix, ...] = ()


def _undefined_symbol(m: re.Match[str]) -> Cause:
    return Cause(f"a compiled library needs `{m[1]}`, which nothing loaded provides: it was built against "
                 "another torch version or C++ ABI (rebuild or reinstall it for this torch)")


def _missing_library(m: re.Match[str]) -> Cause:
    return Cause(f"the dynamic loader cannot find {m[1]}: a library built for another CUDA (or without its runtime "
                 "installed) is being loaded")


def _glibc(m: re.Match[str]) -> Cause:
    return Cause(f"a compiled library needs symbol version {m[1]}, newer than this system's C/C++ runtime provides")


PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Cause]], ...] = (
    (re.compile(r"undefined symbol: (\S+)"), _undefined_symbol),
    (re.compile(r"(\S+\.so[\w.]*): cannot open shared object file"), _missing_library),
    (re.compile(r"version [`'](GLIBC(?:XX)?_[\d.]+)' not found"), _glibc),
    (re.compile(r"no kernel image is available for execution on the device"),
     lambda m: Cause("this torch (or extension) was not compiled for the GPU's architecture")),
    (re.compile(r"driver version is insufficient|driver on your system is too old"),
     lambda m: Cause("the NVIDIA driver is older than the CUDA this build needs")),
    (re.compile(r"FlashAttention only supports Ampere GPUs or newer"),
     lambda m: Cause("FlashAttention-2 needs an Ampere (sm_80) or newer GPU",
                     (Fix('load the model with attn_implementation="sdpa"'),))),
    (re.compile(r"C\+\+\d+ or later compatible compiler is required"),
     lambda m: Cause("torch's headers need a newer C++ standard than the extension's build asked for")),
    (re.compile(r"Address already in use|EADDRINUSE"),
     lambda m: Cause("the rendezvous port is taken by another process", (Fix("set MASTER_PORT to a free port"),))),
    (re.compile(r"MemoryError|[Oo]ut of memory|Cannot allocate memory"),
     lambda m: Cause("the process ran out of memory")),
)


def name_cause(text: str) -> Cause | None:
    """The first known cause found in `text`, or None."""
    for pattern, make in PATTERNS:
        found = pattern.search(text or "")
        if found:
            return make(found)
    return None
