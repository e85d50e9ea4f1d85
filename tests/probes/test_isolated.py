"""The subprocess runner every probe child goes through: timeouts kill the whole group, signals are named,
output is bounded, and what a child printed before it hung is kept."""

from __future__ import annotations

import io
import os
import sys
import time

from ftdoctor.probes import isolated


def test_a_clean_exit():
    result = isolated.run([sys.executable, "-c", "print('hi')"], timeout_s=10)
    assert result.ok and result.stdout == "hi\n" and result.describe() == "exited with status 0"


def test_a_signal_is_named():
    result = isolated.run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGABRT)"], timeout_s=10)
    assert (result.signal, result.returncode, result.ok) == ("SIGABRT", -6, False)
    assert result.describe() == "killed by SIGABRT"


def test_a_timeout_kills_grandchildren_and_keeps_early_output(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    code = ("import subprocess, sys, time\n"
            f"p = subprocess.Popen(['sleep', '600']); open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
            "print('before the hang', flush=True); time.sleep(600)")
    started = time.monotonic()
    result = isolated.run([sys.executable, "-c", code], timeout_s=1.5)
    assert time.monotonic() - started < 6
    assert result.timed_out and result.returncode is None
    assert result.stdout == "before the hang\n"
    assert result.describe() == "did not finish within 2 s (killed)"
    grandchild = int(pid_file.read_text())
    for _ in range(50):  # the kernel reaps it a moment later
        if not os.path.exists(f"/proc/{grandchild}") or "Z" in open(f"/proc/{grandchild}/stat").read().split()[2]:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the grandchild survived the timeout")


def test_a_program_that_cannot_start():
    result = isolated.run(["/nonexistent/program"], timeout_s=5)
    assert result.start_error and not result.ok
    assert result.describe().startswith("could not start: No such file or directory")


def test_output_is_bounded():
    result = isolated.run([sys.executable, "-c", "print('x' * 1000000)"], timeout_s=10)
    assert len(result.stdout) == isolated.OUTPUT_LIMIT + 1 and result.stdout.startswith("…")


def test_cancel_kills_an_unwanted_child():
    running = isolated.start(["sleep", "600"], timeout_s=600)
    started = time.monotonic()
    running.cancel()
    assert time.monotonic() - started < 5


def test_stream_hands_over_both_outputs_in_the_order_they_were_written():
    code = "import sys\nfor i in range(3):\n    print(f'out {i}', flush=True); print(f'err {i}', file=sys.stderr, flush=True)\nsys.exit(3)"
    echoed = io.BytesIO()
    result, text = isolated.stream([sys.executable, "-c", code], lambda pipe: pipe.read().decode(), timeout_s=10, echo=echoed)
    assert text == "out 0\nerr 0\nout 1\nerr 1\nout 2\nerr 2\n" == echoed.getvalue().decode()
    assert (result.returncode, result.timed_out, result.stdout, result.stderr) == (3, False, "", "")


def test_stream_reads_what_has_arrived_without_waiting_for_a_full_buffer():
    code = "import sys, time\nprint('first', flush=True)\ntime.sleep(600)"
    seen = []

    def first_read(pipe):
        seen.append((pipe.read(1 << 20), time.monotonic()))
        return pipe.read()

    started = time.monotonic()
    result, _ = isolated.stream([sys.executable, "-c", code], first_read, timeout_s=3)
    assert seen[0][0].startswith(b"first") and seen[0][1] - started < 3  # read before the time limit killed it
    assert result.timed_out and result.returncode is None and result.describe().startswith("did not finish within")


def test_stream_ends_when_a_grandchild_keeps_the_output_open_after_the_child_exits():
    code = "import subprocess\nsubprocess.Popen(['sleep', '600'])\nprint('child done', flush=True)"
    started = time.monotonic()
    result, text = isolated.stream([sys.executable, "-c", code], lambda pipe: pipe.read(), timeout_s=600)
    assert text == b"child done\n" and result.returncode == 0
    assert time.monotonic() - started < isolated.LINGER_S + 5


def test_stream_of_a_program_that_cannot_start():
    result, value = isolated.stream(["/nonexistent/program"], lambda pipe: pipe.read(), timeout_s=5)
    assert value is None and result.describe().startswith("could not start: No such file or directory")
