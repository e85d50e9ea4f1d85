"""The real runners: the app's probe tasks give the same facts as `ftdoctor check`'s gather, on a fake host."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from ftdoctor.facts import serialize
from ftdoctor.facts.model import Distribution, Facts
from ftdoctor.probes.gather import GatherOptions, gather
from ftdoctor.probes.host import Host
from ftdoctor.rules.settings import Settings
from ftdoctor.tui.data import live
from ftdoctor.trainer.rules import FAMILY_TITLES as PREFLIGHT_FAMILIES
from ftdoctor.tui.data.runners import Origin
from ftdoctor.tui.data.tasks import TaskFailed, run_tasks


def fake_host(tmp_path) -> Host:
    (tmp_path / "proc/driver").mkdir(parents=True)
    return Host(root=tmp_path, env={"PATH": str(tmp_path / "bin"), "CUDA_VISIBLE_DEVICES": "0"}, python=sys.executable)


def test_probe_tasks_give_the_facts_gather_gives(tmp_path):
    host = fake_host(tmp_path)
    events = []
    tasks = live.probe_tasks(host, import_torch=False)
    probed = run_tasks(tasks, live.blank_facts("box"), events.append)
    gathered = gather(host, GatherOptions(torch=False, label="box"))
    assert not [e for e in events if isinstance(e, TaskFailed)]
    def timeless(facts):  # the ELF scan's own duration differs from run to run
        return replace(facts, collected_at="", abi=replace(facts.abi, elapsed_s=None))

    assert timeless(probed) == timeless(gathered)
    assert {s for t in tasks for s in t.sections} == {"driver", "toolkit", "system", "env", "python", "torch", "abi"}


def test_the_real_judge_and_the_seams_this_build_lacks():
    runners = live.runners(Settings())
    findings = runners.judge(Facts())
    assert "DRV100" in [f.code for f in findings]
    assert runners.titles["driver"] == "NVIDIA driver"
    assert runners.run_step is not None and runners.probes == ()
    assert None not in (runners.preflight, runners.lockfile, runners.explain)
    assert runners.verify is None  # a saved snapshot: nothing to verify here (the app says why)


def recorded(name: str) -> tuple[Path, Facts]:
    path = Path(__file__).parents[1] / "machines" / f"{name}.json"
    return path, serialize.load(path)


def test_the_lockfile_is_the_one_ftdoctor_lock_writes_for_the_snapshot(cli):
    path, facts = recorded("a100-driver535-cu124")
    lockfile = live.lockfile_runner(facts, Origin.snapshot(path, facts))
    assert lockfile.ok and lockfile.name == "requirements.txt"
    assert lockfile.command == "ftdoctor lock --facts a100-driver535-cu124.json --prefer proven -o requirements.txt"
    assert lockfile.text == cli("lock", "--facts", str(path)).stdout  # word for word what the command prints


def test_the_lockfile_locks_the_installed_extras_too():
    path, facts = recorded("a100-driver535-cu124")
    flash = Distribution("flash-attn", "2.7.4.post1")
    facts = replace(facts, python=replace(facts.python, distributions=(*facts.python.distributions, flash)))
    lockfile = live.lockfile_runner(facts, Origin.this_machine())
    assert "--target auto --with flash-attn" in lockfile.command
    assert "flash-attn" in lockfile.text


def test_no_lock_fits_is_said_with_what_would():
    path, facts = recorded("a100-driver535-cu124")
    old = replace(facts, python=replace(facts.python, version="3.6.15"))
    lockfile = live.lockfile_runner(old, Origin.snapshot(path, old))
    assert not lockfile.ok and "nothing fits:" in lockfile.text and "another Python would work" in lockfile.text


def test_preflight_is_check_configs_with_the_memory_estimate(cli):
    path, facts = recorded("a100-driver535-cu124")
    config = Path(__file__).parents[1] / "trainer" / "configs" / "alignment-handbook" / "recipes" / "constitutional-ai" / "sft" / "config_anthropic.yaml"
    report = live.preflight_runner(Settings())(config, facts)
    checked = cli("check", "--facts", str(path), "--config", str(config), "--json").json()
    expected = [(f["code"], f["severity"]) for f in checked["data"]["findings"] if f["family"] in PREFLIGHT_FAMILIES]
    assert [(f.code, f.severity.value) for f in report.findings] == expected
    memory = next(n for n in report.notes if n.startswith("memory"))
    assert "GiB" in memory and "at the peak" in memory
    assert any(n.startswith("optimizer states: ") and "GiB" in n for n in report.details)  # the estimate's parts


def test_the_fix_plan_is_ftdoctor_fixs_for_the_finding(cli):
    from ftdoctor.tui.data import fixes

    path, facts = recorded("rtx5090-cu126")
    findings = live.judge_with(Settings())(facts)
    (arc,) = [f for f in findings if f.code == "ARC200"]
    plan = fixes.planner(preview=lambda p: [(s, s.changes) for s in p.runnable])(facts, findings, arc, arc.fixes[0])
    fixed = cli("fix", "--facts", str(path), "--json").json()["data"]
    assert [s.command for s in plan.steps] == [s["command"] for s in fixed["steps"] if s["kind"] != "manual"]
    assert plan.title == "ftdoctor fix for ARC200"
    assert "It will reinstall torch 2.7.1 -> 2.7.1+cu128." in plan.notes
    assert all(isinstance(s.action, fixes.FixAction) for s in plan.steps)


def test_a_downgrade_is_named_before_anything_runs():
    from ftdoctor.fix.plan import Change
    from ftdoctor.tui.data import fixes

    path, facts = recorded("rtx5090-cu126")
    findings = live.judge_with(Settings())(facts)
    down = Change("torch", "2.7.1", "2.6.0+cu126", "downgrade")
    plan = fixes.planner(preview=lambda p: [(s, (down,)) for s in p.runnable])(facts, findings, None, None)
    assert plan.notes[0] == "WARNING: it will DOWNGRADE torch 2.7.1 -> 2.6.0+cu126."


def test_ignored_rules_are_skipped_with_their_reason():
    runners = live.runners(Settings().merged(select=None, ignore=["DRV100"], fail_on=None))
    (drv100,) = [f for f in runners.judge(Facts()) if f.code == "DRV100"]
    assert drv100.severity.value == "skipped"


def test_explain_plugs_in_through_its_library_api_when_the_build_has_it(monkeypatch):
    """The adapter against `ftdoctor.explain`'s documented API (explain_text, as_findings, Explanation)."""
    import types

    from ftdoctor.findings import Finding, Severity

    oom = Finding("EXP119", "explain", Severity.ERROR, "GPU out of memory", "tried to allocate 2.00 GiB")
    calls = []
    stats = types.SimpleNamespace(lines=3, encoding="utf-8", replaced=True)

    def explain_text(text, *, facts=None, facts_source=None):
        calls.append((text, facts, facts_source))
        return types.SimpleNamespace(found=True, diagnoses=("d",), read=stats, last_error=None)

    module = types.ModuleType("ftdoctor.explain")
    module.explain_text, module.as_findings = explain_text, lambda result: [oom]
    monkeypatch.setitem(sys.modules, "ftdoctor.explain", module)
    report = live.explain_runner()("a log", Facts(label="here"))
    assert report.findings == (oom,)
    assert report.notes == ("read 3 lines (utf-8, undecodable bytes replaced)",
                            "1 diagnosis(es), the most likely first")
    assert calls == [("a log", Facts(label="here"), "live")]


def test_the_real_explain_when_present():
    explain = pytest.importorskip("ftdoctor.explain")  # runs once the explain feature is in this build
    report = live.explain_runner()("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n", None)
    assert report.findings and report.findings[0].family == "explain"
    assert explain is not None
