"""How a smoke child's end becomes a fact: its own result, or crashed/timeout with the stage it reached."""

from ftdoctor.facts.model import SmokeStatus
from ftdoctor.probes.isolated import ChildResult
from ftdoctor.verify.outcome import smoke_result

STAGE = '{"event": "stage", "stage": "import bitsandbytes"}'


def child(stdout="", stderr="", code=0, signal=None, timed_out=False, start_error=None):
    return ChildResult(("python", "smoke.py"), None if timed_out else code, signal, timed_out, stdout, stderr, 1.5,
                       start_error)


def test_the_childs_own_result_wins_and_library_chatter_goes_to_the_tail():
    out = "\n".join([STAGE, "some library printed this", '{"event": "result", "status": "ok", "reason": "fine", "details": {"a": 1}}'])
    result = smoke_result("x", child(out, "a warning"), bound_s=10, memory_limit=None)
    assert (result.status, result.reason, result.details, result.stage) == (SmokeStatus.OK, "fine", {"a": 1}, "import bitsandbytes")
    assert result.output_tail == "some library printed this\na warning"


def test_a_signal_is_a_crash_at_the_last_stage():
    result = smoke_result("x", child(STAGE, "Fatal Python error: Segmentation fault", code=-11, signal="SIGSEGV"),
                          bound_s=10, memory_limit=None)
    assert result.status == SmokeStatus.CRASHED
    assert result.reason == "killed by SIGSEGV during 'import bitsandbytes'"
    assert "Segmentation fault" in result.output_tail


def test_sigkill_mentions_the_oom_killer():
    result = smoke_result("x", child(code=-9, signal="SIGKILL"), bound_s=10, memory_limit=None)
    assert result.reason.startswith("killed by SIGKILL before its first stage (the kernel's out-of-memory killer")


def test_a_timeout_names_the_bound_and_the_stage():
    result = smoke_result("x", child(STAGE, timed_out=True), bound_s=12, memory_limit=None)
    assert result.status == SmokeStatus.TIMEOUT
    assert result.reason == "did not finish within 12 s during 'import bitsandbytes' (killed with its process group)"


def test_an_exit_without_result_is_a_crash_with_the_last_line():
    result = smoke_result("x", child(STAGE, "Traceback ...\nMemoryError", code=1), bound_s=10, memory_limit=8 * 2**30)
    assert result.status == SmokeStatus.CRASHED
    assert result.reason == "exited with status 1 without a result during 'import bitsandbytes': MemoryError (memory limit 8 GiB)"


def test_an_interpreter_that_does_not_start_is_a_failure():
    result = smoke_result("x", child(start_error="No such file or directory: /nope/python"), bound_s=10, memory_limit=None)
    assert result.status == SmokeStatus.FAILED and "could not start" in result.reason


def test_garbage_that_looks_like_an_event_is_output_not_a_crash_of_ftdoctor():
    result = smoke_result("x", child('{"event": broken json\n{"event": "result", "status": "weird"}', code=0),
                          bound_s=10, memory_limit=None)
    assert result.status == SmokeStatus.CRASHED  # no valid result line
    assert '{"event": broken json' in result.output_tail
