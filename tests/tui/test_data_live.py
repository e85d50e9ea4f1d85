"""The real runners: the app's probe tasks give the same facts as `ftdoctor check`'s gather, on a fake host."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest

from ftdoctor.facts.model import Facts
from ftdoctor.probes.gather import GatherOptions, gather
from ftdoctor.probes.host import Host
from ftdoctor.rules.settings import Settings
from ftdoctor.tui.data import live
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
    assert (runners.verify, runners.preflight, runners.lockfile) == (None, None, None)


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
