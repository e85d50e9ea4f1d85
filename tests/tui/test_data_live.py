"""The real runners: the app's probe tasks give the same facts as `ftdoctor check`'s gather, on a fake host."""

from __future__ import annotations

import sys
from dataclasses import replace

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
    assert replace(probed, collected_at="") == replace(gathered, collected_at="")
    assert {s for t in tasks for s in t.sections} == {"driver", "toolkit", "system", "env", "python", "torch"}


def test_the_real_judge_and_the_seams_this_build_lacks():
    runners = live.runners(Settings())
    findings = runners.judge(Facts())
    assert [f.code for f in findings][:1] == ["DRV100"]
    assert runners.titles["driver"] == "NVIDIA driver"
    assert runners.run_step is not None and runners.probes == ()
    assert (runners.verify, runners.explain, runners.preflight, runners.lockfile) == (None, None, None, None)


def test_ignored_rules_are_skipped_with_their_reason():
    runners = live.runners(Settings().merged(select=None, ignore=["DRV100"], fail_on=None))
    assert runners.judge(Facts())[0].severity.value == "skipped"
