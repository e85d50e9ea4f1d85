"""A smoke runner for the app's tests: each smoke test ends the way the test says (a result, or an error
raised by the runner), when the test releases it; `stop()` ends the held ones as the real runner does."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from synthetic_machine import Gate

from ftdoctor.facts.model import SmokeResult, SmokeStatus
from ftdoctor.tui.data.smokes import Stopped

TORCH_OK = SmokeResult(
    "torch", SmokeStatus.OK, "a 256x256 matmul is right on cpu", elapsed_s=2.1,
    details={"torch": "2.13.0+cpu", "torch_cuda": None, "cuda_compiled": False, "cuda_available": False,
             "device_count": 0, "devices": [{"device": "cpu", "ok": True}]},
)
FLASH_ATTN_BROKEN = SmokeResult(
    "flash-attn", SmokeStatus.FAILED, "import flash_attn: ImportError", elapsed_s=3.4,
    details={"version": "2.8.3", "torch": "2.4.1+cu121", "torch_cuda": "12.1", "import": {
        "ok": False, "error_type": "ImportError",
        "error": "/env/flash_attn_2_cuda.cpython-311-x86_64-linux-gnu.so: undefined symbol: _ZN3c104cuda9SetDeviceEi"},
        "forward": {"ok": False, "skipped": "flash-attn did not import"}},
)
BNB_HUNG = SmokeResult(
    "bitsandbytes-4bit", SmokeStatus.TIMEOUT,
    "did not finish within 180 s during 'import bitsandbytes' (killed with its process group)",
    stage="import bitsandbytes", elapsed_s=180.2, signal="SIGKILL",
    output_tail='File "/env/bitsandbytes/cextension.py", line 85 in get_native_library',
)


class FakeSmokes:
    def __init__(self, outcomes: Mapping[str, SmokeResult | Exception], gates: Mapping[str, Gate] | None = None):
        self.names = tuple(outcomes)
        self.outcomes, self.gates = dict(outcomes), dict(gates or {})
        self.started: list[str] = []
        self.stopped = threading.Event()

    def run(self, name: str) -> SmokeResult:
        self.started.append(name)
        gate = self.gates.get(name)
        while gate is not None and not gate.event.wait(0.02):
            if self.stopped.is_set():
                raise Stopped(f"the {name} smoke test was stopped")
        outcome = self.outcomes[name]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def stop(self) -> None:
        self.stopped.set()


class Factory:
    """`Runners.verify`: a new FakeSmokes per run, all kept for the test to look at."""

    def __init__(self, outcomes, gates=None):
        self.outcomes, self.gates = outcomes, gates
        self.runs: list[FakeSmokes] = []

    def __call__(self) -> FakeSmokes:
        self.runs.append(FakeSmokes(self.outcomes, self.gates))
        return self.runs[-1]
