"""The app's real smoke runner (`ProcessSmokes`, `ftdoctor.verify.run` underneath): the `torch` smoke test run
for real on this machine through the app, and smoke tests that hang stopped by `V` and by quitting, with
nothing they started left running (not even a helper that left their session)."""

from __future__ import annotations

import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from fakes.processes import alive, processes_mentioning
from synthetic_machine import facts, plain, wait_for
from textual.widgets import Static

from ftdoctor.facts.model import SmokeStatus
from ftdoctor.probes.host import Host
from ftdoctor.rules import FAMILY_TITLES
from ftdoctor.rules.settings import Settings
from ftdoctor.tui.app.app import make_app
from ftdoctor.tui.data.live import ProcessSmokes, judge_with, smoke_runner
from ftdoctor.tui.data.runners import Origin, Runners
from ftdoctor.tui.data.smokes import Stopped
from ftdoctor.verify.catalog import Smoke, SmokeOptions, select
from ftdoctor.verify.options import VerifyPlan

pytestmark = pytest.mark.slow  # real subprocesses (torch is imported in one)

SIZE = (100, 30)


def host() -> Host:
    return Host.from_environment(python=sys.executable)


def hanging_smoke(tmp_path: Path, name: str = "torch") -> tuple[Smoke, Path]:
    """A smoke test that starts a helper in its own session (it leaves the process group), then hangs."""
    pid_file = tmp_path / "helper.pid"
    script = tmp_path / "hangs.py"
    script.write_text(textwrap.dedent(f"""
        import subprocess, threading
        helper = subprocess.Popen(["sleep", "600"], start_new_session=True)
        open({str(pid_file)!r}, "w").write(str(helper.pid))
        threading.Event().wait()
    """))
    return Smoke(name, str(script), 120, "hangs"), pid_file


def assert_nothing_left(tmp_path: Path, pid_file: Path) -> None:
    deadline = time.monotonic() + 5  # a SIGKILLed process needs a moment to leave /proc
    while time.monotonic() < deadline and (processes_mentioning(str(tmp_path)) or alive(int(pid_file.read_text()))):
        time.sleep(0.05)
    assert not processes_mentioning(str(tmp_path)), "the smoke child was left running"
    assert not alive(int(pid_file.read_text())), "the helper that left the session was left running"


def app_with(factory, verify: bool = False):
    runners = Runners(judge=judge_with(Settings()), titles=FAMILY_TITLES, verify=factory)
    return make_app(runners, Origin.this_machine(), facts(), verify=verify)


def status(app) -> str:
    return plain(app.main.query_one("#status", Static))


def test_a_stop_kills_a_hanging_smoke_test_and_what_it_started(tmp_path):
    smoke, pid_file = hanging_smoke(tmp_path)
    runner = ProcessSmokes(host(), [smoke])
    raised: list[BaseException] = []
    thread = threading.Thread(target=lambda: _catch(raised, runner.run, "torch"))
    thread.start()
    deadline = time.monotonic() + 30
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid_file.exists(), "the smoke test never started its helper"
    runner.stop()
    thread.join(10)
    assert not thread.is_alive() and isinstance(raised[0], Stopped)
    assert_nothing_left(tmp_path, pid_file)
    with pytest.raises(Stopped):  # a stopped run starts nothing more
        runner.run("torch")


def _catch(into: list, call, *args) -> None:
    try:
        call(*args)
    except BaseException as exc:  # noqa: BLE001 - handed to the test
        into.append(exc)


async def test_the_real_torch_smoke_test_in_the_app():
    plan = VerifyPlan(tuple(select(["torch"])), SmokeOptions())
    app = app_with(smoke_runner(host(), plan))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await wait_for(pilot, lambda: "smoke tests running: torch" in status(app), what="the torch smoke test to start")
        await wait_for(pilot, lambda: app.main.state.facts.verify.ran, timeout=150, what="the torch smoke test")
        result = app.main.state.facts.verify.smoke("torch")
        assert result.status == SmokeStatus.OK, result
        labels = [str(n.label) for n in app.main.tree.root.children]
        assert "✓ torch smoke test · 1 ok, 1 skipped" in labels  # this CPU machine: TOR381 has no CUDA to judge
        tor380 = next(f for f in app.main.state.findings if f.code == "TOR380")
        assert tor380.message.startswith("a 256x256 matmul is right on cpu (torch ")
        assert "✓ 1 smoke test(s) finished" in status(app)


@pytest.mark.parametrize("how", ["V", "q", "exit"])
async def test_stopping_or_quitting_leaves_no_smoke_process(tmp_path, how):
    smoke, pid_file = hanging_smoke(tmp_path)
    factory = lambda: ProcessSmokes(host(), [smoke])  # noqa: E731
    app = app_with(factory, verify=True)  # as `ftdoctor tui --verify`: running from the start
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, pid_file.exists, timeout=30, what="the smoke test to start its helper")
        assert processes_mentioning(str(tmp_path)), "the smoke child should be running"
        if how == "exit":
            app.exit()  # not through the screen's quit: the screen stops them when it is taken down
        else:
            await pilot.press(how)
        if how == "V":
            assert not app.main.state.probing and not app.main.state.facts.verify.ran
            assert_nothing_left(tmp_path, pid_file)
    assert_nothing_left(tmp_path, pid_file)
