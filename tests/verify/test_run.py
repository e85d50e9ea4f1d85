"""Running smoke children together: results per child, notices for slow ones, the memory limit, strays."""

from __future__ import annotations

import io
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

from verify_helpers import alive

from ftdoctor.facts.model import SmokeStatus
from ftdoctor.probes.host import Host
from ftdoctor.verify import run, strays
from ftdoctor.verify.catalog import Smoke


def script(tmp_path: Path, name: str, body: str) -> Smoke:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return Smoke(name, str(path), 30, name)


def host(tmp_path: Path) -> Host:
    return Host(root=tmp_path / "root", python=sys.executable)


def test_children_run_at_once_and_each_keeps_its_own_time(tmp_path):
    quick = script(tmp_path, "quick", 'print(\'{"event": "result", "status": "ok", "reason": "fast"}\')')
    slow = script(tmp_path, "slow", """
        import time; time.sleep(1.5)
        print('{"event": "result", "status": "skipped", "reason": "nothing here"}')
    """)
    began = time.monotonic()
    batch = run.start(host(tmp_path), [slow, quick, replace(slow, name="slow2")])
    facts = run.finish(batch)
    assert time.monotonic() - began < 3.5  # concurrent: not 3 s of sleeping plus starts
    by_name = {s.name: s for s in facts.smokes}
    assert [s.name for s in facts.smokes] == ["slow", "quick", "slow2"]
    assert by_name["quick"].status == SmokeStatus.OK and by_name["quick"].elapsed_s < 1.2
    assert by_name["slow"].status == SmokeStatus.SKIPPED and by_name["slow"].reason == "nothing here"


def test_a_slow_child_is_announced(tmp_path):
    slow = script(tmp_path, "lingers", 'import time; time.sleep(1.6); print(\'{"event": "result", "status": "ok"}\')')
    notices = io.StringIO()
    run.finish(run.start(host(tmp_path), [slow]), notices=notices, every_s=0.5)
    lines = notices.getvalue().splitlines()
    assert lines and all(line.startswith("ftdoctor: still running after ") and line.endswith(" s: lingers") for line in lines)


def test_the_memory_limit_applies_only_without_a_gpu_driver(tmp_path):
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "meminfo").write_text("MemTotal:       25165824 kB\n")
    assert run.memory_limit(Host(root=root)) == 12 * 2**30
    (root / "dev").mkdir()
    (root / "dev" / "nvidiactl").write_text("")
    assert run.memory_limit(Host(root=root)) is None


def test_a_child_sees_its_memory_limit(tmp_path):
    probe = script(tmp_path, "limit", """
        import json, resource
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        print(json.dumps({"event": "result", "status": "ok", "details": {"limit": soft}}))
    """)
    facts = run.finish(run.start(host(tmp_path), [probe]))
    assert facts.smokes[0].details["limit"] == run.memory_limit(host(tmp_path))


def test_a_descendant_that_left_the_process_group_is_ended(tmp_path):
    pid_file = tmp_path / "daemon.pid"
    leaver = script(tmp_path, "leaver", f"""
        import subprocess
        daemon = subprocess.Popen(["sleep", "600"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open({str(pid_file)!r}, "w").write(str(daemon.pid))
        print('{{"event": "result", "status": "ok"}}')
    """)
    run.finish(run.start(host(tmp_path), [leaver]))
    time.sleep(0.2)
    assert not alive(int(pid_file.read_text()))


def test_strays_only_match_their_own_token(tmp_path):
    assert strays.carrying(strays.new_token()) == []


def test_a_hanging_child_that_holds_its_pipes_is_bounded(tmp_path):
    holder = script(tmp_path, "holder", """
        import subprocess, threading
        subprocess.Popen(["sleep", "600"], start_new_session=True)  # inherits stdout/stderr: holds the pipes
        threading.Event().wait()
    """)
    holder = replace(holder, timeout_s=1.0)
    began = time.monotonic()
    facts = run.finish(run.start(host(tmp_path), [holder]))
    assert facts.smokes[0].status == SmokeStatus.TIMEOUT
    assert time.monotonic() - began < 1.0 + run.GRACE_S + 3
