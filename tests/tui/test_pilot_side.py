"""The side screens and files: a lockfile, a log's diagnosis and a config's preflight when the build has
them (and a plain statement when it does not), opening and saving facts snapshots."""

from __future__ import annotations

import json

from synthetic_machine import facts, plain, runners, wait_for
from textual.widgets import Input, Static, TextArea

from ftdoctor.facts import serialize
from ftdoctor.findings import Finding, Fix, Severity
from ftdoctor.tui.app.app import make_app
from ftdoctor.tui.data.runners import UNAVAILABLE, Lockfile, Origin, Report
from ftdoctor.tui.screens.explain import ExplainScreen
from ftdoctor.tui.screens.lockfile import LockfileScreen
from ftdoctor.tui.screens.preflight import PreflightScreen
from ftdoctor.tui.widgets.findings_tree import FindingsTree

SIZE = (100, 30)
OOM = Finding("oom_gpu", "memory", Severity.ERROR, "The run fits in GPU memory.",
              "CUDA out of memory: tried to allocate 2.00 GiB; 31.4 GiB of 31.8 GiB in use",
              {"line 812": "torch.OutOfMemoryError: CUDA out of memory."},
              (Fix("Halve the micro-batch and turn on gradient checkpointing",
                   ("micro_batch_size: 1", "gradient_checkpointing: true")),))


def app_with(**seams):
    box = facts()
    return make_app(runners(**seams), Origin.snapshot("box.json", box), box)


def message(app) -> str:
    return plain(app.screen.query_one("#side-message", Static))


async def enter_path(pilot, app, path) -> None:
    """Fill the focused path box at once (typing a long temporary path key by key takes seconds)."""
    app.screen.query_one(Input).value = str(path)
    await pilot.press("enter")


def notified(app, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


async def test_each_missing_feature_says_it_is_not_in_this_build():
    app = app_with()
    async with app.run_test(size=SIZE) as pilot:
        for key, screen, feature in (("l", LockfileScreen, "lockfile"), ("e", ExplainScreen, "explain"),
                                     ("t", PreflightScreen, "preflight")):
            await pilot.press(key)
            assert isinstance(app.screen, screen)
            assert message(app).strip() == UNAVAILABLE[feature]
            assert not any(w.display for w in app.screen.query("TextArea, Input, ReportPane"))
            await pilot.press("escape")
            assert app.screen is app.main


async def test_the_lockfile_is_shown_for_the_judged_facts_and_copied():
    seen = []

    def lock(given, origin):
        seen.append((given.label, origin.label))
        return Lockfile("requirements-rtx5090-box.txt", "torch==2.7.1+cu128\ntransformers==4.57.1\n",
                        "ftdoctor lock --facts box.json -o requirements-rtx5090-box.txt")

    app = app_with(lockfile=lock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: app.screen.lockfile is not None, what="the lockfile")
        assert seen == [("rtx5090-box", "snapshot box.json (rtx5090-box)")]
        assert app.screen.query_one(TextArea).text.startswith("torch==2.7.1+cu128")
        assert message(app).strip() == ("requirements-rtx5090-box.txt · c copies it; "
                                        "`ftdoctor lock --facts box.json -o requirements-rtx5090-box.txt` writes it")
        await pilot.press("c")
        assert app.clipboard == "torch==2.7.1+cu128\ntransformers==4.57.1\n"


async def test_a_runner_that_fails_is_one_line_on_the_screen():
    from ftdoctor.errors import InputFileError

    def lock(given, origin):
        raise InputFileError("no torch wheel fits driver 470", where="box.json", hint="upgrade the driver")

    app = app_with(lockfile=lock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "✗" in message(app), what="the failure")
        assert message(app).strip() == "✗ box.json: no torch wheel fits driver 470 — upgrade the driver"


async def test_a_pasted_log_is_explained_and_the_diagnosis_browsed():
    logs = []

    def explain(text, given_facts):
        logs.append((text, given_facts))
        return Report((OOM,), {"memory": "GPU memory"}, ("1 diagnosis, confidence high",))

    app = app_with(explain=explain)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        area = app.screen.query_one(TextArea)
        area.insert("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: logs and app.screen.query_one("#explain-report").display, what="the diagnosis")
        assert logs[0][0].startswith("torch.OutOfMemoryError")
        assert logs[0][1] is None  # a snapshot's facts are not this machine's
        notes = plain(app.screen.query_one("#report-notes", Static))
        assert "1 diagnosis, confidence high" in notes
        tree = app.screen.query_one(FindingsTree)
        assert [str(n.label) for n in tree.root.children] == ["✗ GPU memory · 1 error"]


async def test_a_log_file_is_opened_by_path(tmp_path):
    log = tmp_path / "train.log"
    log.write_bytes(b"step 10 loss 2.1\n\xff\xfe garbage\nRuntimeError: CUDA error: no kernel image\n")
    app = app_with(explain=lambda text, f: Report(()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", "ctrl+o")
        await enter_path(pilot, app, log)
        text = app.screen.query_one(TextArea).text
        assert text.endswith("RuntimeError: CUDA error: no kernel image\n")
        assert "\ufffd" in text  # undecodable bytes replaced, not a crash
        await pilot.press("ctrl+o")
        await enter_path(pilot, app, tmp_path / "missing.log")
        assert notified(app, f"{tmp_path / 'missing.log'}: no such file")


async def test_a_config_is_preflighted_against_the_judged_facts(tmp_path):
    config = tmp_path / "qlora.yml"

    def preflight(path, given):
        assert path == config and given.label == "rtx5090-box"
        return Report((OOM,), {"memory": "GPU memory"}, ("peak GPU memory: 34.2 GiB of 31.8 GiB",))

    app = app_with(preflight=preflight)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await enter_path(pilot, app, config)
        await wait_for(pilot, lambda: app.screen.query_one("#preflight-report").display, what="the preflight")
        assert "peak GPU memory: 34.2 GiB of 31.8 GiB" in plain(app.screen.query_one("#report-notes", Static))


async def test_open_a_saved_snapshot_and_judge_it(tmp_path):
    other = tmp_path / "node-2.json"
    other.write_text(serialize.dumps(facts(label="node-2", driver=facts().driver.__class__())))
    box = facts()
    app = make_app(runners(), Origin.snapshot("box.json", box), box)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await enter_path(pilot, app, other)
        assert app.main.origin.label == "snapshot node-2.json (node-2)"
        assert str(app.main.tree.root.label) == "snapshot node-2.json (node-2)"
        driver = next(f for f in app.main.state.findings if f.code == "DRV100")
        assert driver.severity == Severity.ERROR  # judged from node-2's facts: no driver there


async def test_a_bad_snapshot_is_one_line_and_changes_nothing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something else"}')
    box = facts()
    app = make_app(runners(), Origin.snapshot("box.json", box), box)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await enter_path(pilot, app, bad)
        assert notified(app, f"{bad}: not an ftdoctor facts snapshot")
        assert app.main.origin.label == "snapshot box.json (rtx5090-box)"


async def test_save_facts_writes_a_snapshot_and_never_overwrites(tmp_path):
    target = tmp_path / "saved.json"
    box = facts()
    app = make_app(runners(), Origin.snapshot("box.json", box), box)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await enter_path(pilot, app, target)
        assert serialize.load(target) == box
        before = target.read_text()
        await pilot.press("s")
        await enter_path(pilot, app, target)
        assert notified(app, "file exists, refusing to overwrite it")
        assert target.read_text() == before
        assert json.loads(before)["label"] == "rtx5090-box"


async def test_escape_in_a_path_dialog_does_nothing():
    app = app_with()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        assert isinstance(app.screen.query_one(Input), Input)
        await pilot.press("escape")
        assert app.screen is app.main


async def test_a_preflight_fix_line_is_copied_not_run(tmp_path):
    app = app_with(preflight=lambda path, given: Report((OOM,), {"memory": "GPU memory"}))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await enter_path(pilot, app, tmp_path / "qlora.yml")
        await wait_for(pilot, lambda: app.screen.query_one("#preflight-report").display, what="the preflight")
        await pilot.press("c")
        assert app.clipboard == "micro_batch_size: 1"
        await pilot.press("x")
        assert isinstance(app.screen, PreflightScreen)  # no fix runner here: nothing happens


async def test_no_lock_fitting_is_shown_with_why():
    why = "nothing fits:\n  - another Python would work: 3.10, 3.11\n"
    app = app_with(lockfile=lambda given, origin: Lockfile("(nothing fits)", why, "ftdoctor lock --facts box.json", ok=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: app.screen.lockfile is not None, what="the answer")
        assert message(app).startswith("✗ no lock fits these facts")
        assert app.screen.query_one(TextArea).text == why


async def test_the_lockfile_waits_for_the_probes():
    from synthetic_machine import Gate, live_tasks

    gate = Gate()
    app = make_app(runners(live_tasks(gate), lockfile=lambda given, origin: Lockfile("r.txt", "")),
                   Origin.this_machine(), facts())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        assert app.screen is app.main
        assert notified(app, "Probes are still running")
        gate.release()
