"""Screenshots (SVG) of the main screens with the synthetic machine, at 100×30 and at 80×24.

Pinned to the textual release in pyproject's dev extra: another release draws differently. Update with
`scripts/test tests/tui/test_snapshots.py --snapshot-update` after checking the new pictures by eye
(pytest writes snapshot_report.html on a mismatch)."""

from __future__ import annotations

from pathlib import Path

import pytest
import textual
from synthetic_machine import PIP, facts, marker_task, runners, wait_for

from ftdoctor.findings import Finding, Fix, Severity
from ftdoctor.tui.app.app import make_app
from ftdoctor.tui.data.runners import Lockfile, Origin, Report

SNAPSHOT_TEXTUAL = "8.2.8"
pytestmark = pytest.mark.skipif(
    textual.__version__ != SNAPSHOT_TEXTUAL, reason=f"snapshots are drawn by textual {SNAPSHOT_TEXTUAL}"
)
WIDE, SMALL = (100, 30), (80, 24)


def snapshot_app(**seams):
    box = facts()
    return make_app(runners(**seams), Origin.snapshot("rtx5090-box.json", box), box)


def fix_app():
    """Live, with one probe reading a marker that the fix command (relative to the test's directory) writes."""
    marker = Path("torch-upgraded")
    commands = ("printf 'Collecting torch==2.7.1\\nInstalling collected packages: torch\\n'", f"touch {marker}")
    return make_app(runners((marker_task(marker),), torch_fix=commands), Origin.this_machine(), facts())


async def probed(pilot) -> None:
    await wait_for(pilot, lambda: not pilot.app.main.state.probing, what="the probes")


class TestMainScreen:
    def test_wide(self, snap_compare):
        assert snap_compare(snapshot_app(), terminal_size=WIDE)

    def test_small_on_the_error(self, snap_compare):
        assert snap_compare(snapshot_app(), press=["n"], terminal_size=SMALL)

    def test_small_problems_only_with_a_search(self, snap_compare):
        assert snap_compare(snapshot_app(), press=["3", "4", "5", "slash", *"pip", "enter"], terminal_size=SMALL)

    def test_help(self, snap_compare):
        assert snap_compare(snapshot_app(), press=["question_mark"], terminal_size=SMALL)


class TestFix:
    def test_confirmation_shows_the_exact_commands(self, snap_compare, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)

        async def run_before(pilot):
            await probed(pilot)
            await pilot.press("n", "x")

        assert snap_compare(fix_app(), run_before=run_before, terminal_size=WIDE)

    def test_finished_with_what_changed(self, snap_compare, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)

        async def run_before(pilot):
            await probed(pilot)
            await pilot.press("n", "x", "y")
            await wait_for(pilot, lambda: getattr(pilot.app.screen, "finished", False), what="the fix")

        assert snap_compare(fix_app(), run_before=run_before, terminal_size=WIDE)


OOM = Finding("MEM700", "memory", Severity.ERROR, "The run fits in GPU memory.",
              "peak 34.2 GiB > 31.8 GiB on NVIDIA GeForce RTX 5090 (micro_batch_size 4, sequence_len 4096)",
              {"weights (4-bit)": "4.6 GiB", "activations": "24.1 GiB", "optimizer (paged 8-bit)": "0.3 GiB"},
              (Fix("Make it fit", ("micro_batch_size: 1", "gradient_checkpointing: true")),), "qlora.yml:14")


UNDEFINED_SYMBOL = ("Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
                    "ImportError: /opt/venv/lib/python3.11/site-packages/flash_attn_2_cuda.cpython-311-x86_64-linux-gnu.so: "
                    "undefined symbol: _ZN3c104cuda9SetDeviceEi\n")
ABI = Finding(  # shaped as `ftdoctor explain` gives it (frozen here: the knowledge base may reword it)
    "EXP106", "explain", Severity.ERROR, "Binary built against another library version: flash-attn built for another torch",
    "flash-attn's compiled extension flash_attn_2_cuda was built against another torch than the one installed: the C++ "
    "symbol c10::cuda::SetDevice it needs does not exist in this libtorch.",
    {"category": "abi_mismatch", "confidence": 0.95, "symbol": "_ZN3c104cuda9SetDeviceEi"},
    (Fix("Reinstall flash-attn against the installed torch (the prebuilt wheel whose tag matches torch)",
         (f"{PIP} uninstall -y flash-attn", f"{PIP} install --no-build-isolation --no-cache-dir flash-attn")),),
    "log line 3")


class TestSideScreens:
    def test_explain_not_in_this_build(self, snap_compare):
        assert snap_compare(snapshot_app(), press=["e"], terminal_size=SMALL)

    def test_explain_a_pasted_log(self, snap_compare):
        def explain(text, given):
            return Report((ABI,), {"explain": "Diagnosis"}, ("read 3 lines (utf-8)", "1 diagnosis(es), the most likely first"))

        async def run_before(pilot):
            await pilot.press("e")
            pilot.app.screen.query_one("TextArea").insert(UNDEFINED_SYMBOL)
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: pilot.app.screen.query_one("#explain-report").display, what="the diagnosis")

        assert snap_compare(snapshot_app(explain=explain), run_before=run_before, terminal_size=SMALL)

    def test_preflight_findings_and_estimate(self, snap_compare):
        def preflight(path, given):
            return Report((OOM,), {"memory": "GPU memory"}, ("peak GPU memory 34.2 GiB of 31.8 GiB: will not fit",))

        async def run_before(pilot):
            await pilot.press("t")
            pilot.app.screen.query_one("Input").value = "qlora.yml"
            await pilot.press("enter")
            await wait_for(pilot, lambda: pilot.app.screen.query_one("#preflight-report").display, what="preflight")
            await pilot.press("down", "down")

        assert snap_compare(snapshot_app(preflight=preflight), run_before=run_before, terminal_size=WIDE)

    def test_lockfile(self, snap_compare):
        text = "# generated by ftdoctor lock for rtx5090-box\ntorch==2.7.1+cu128\ntransformers==4.57.1\n"

        async def run_before(pilot):
            await pilot.press("l")
            await wait_for(pilot, lambda: pilot.app.screen.lockfile is not None, what="the lockfile")

        app = snapshot_app(lockfile=lambda f, origin: Lockfile("requirements.txt", text, "ftdoctor lock --facts rtx5090-box.json -o requirements.txt"))
        assert snap_compare(app, run_before=run_before, terminal_size=SMALL)
