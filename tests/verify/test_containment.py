"""Containment: broken packages built by the tests. For each, `ftdoctor check --verify` finishes within its
bound, reports the right finding, and leaves no process behind."""

from __future__ import annotations

import time

import pytest

from verify_helpers import assert_nothing_left, extension_suffix, gcc, processes_mentioning, torch_lib_dir

pytestmark = pytest.mark.slow


def finding(result, code):
    findings = {f["code"]: f for f in result.json()["data"]["findings"]}
    assert code in findings, sorted(findings)
    return findings[code]


def check_verify(cli, env, only, *extra, timeout=120):
    began = time.monotonic()
    result = cli("check", "--python", str(env.python), "--verify-only", only, "--json", *extra, timeout=timeout)
    return result, time.monotonic() - began


def test_import_that_segfaults_is_a_crash_finding(cli, fixture_env, tmp_path):
    fixture_env.package("bitsandbytes", {"__init__.py": """
        import ctypes
        ctypes.string_at(0)  # a read of address 0: SIGSEGV, as a broken native library would
    """}, version="0.50.2")
    result, elapsed = check_verify(cli, fixture_env, "bitsandbytes-4bit")
    assert result.returncode == 2, result.stderr
    bnb = finding(result, "BNB850")
    assert bnb["severity"] == "error"
    assert "crashed: killed by SIGSEGV during 'import bitsandbytes'" in bnb["message"]
    assert "bitsandbytes/__init__.py" in bnb["evidence"]["output_tail"]  # the faulthandler's traceback
    assert finding(result, "BNB851")["severity"] == "skipped"
    assert elapsed < 100
    assert_nothing_left(tmp_path)


def test_import_that_hangs_is_killed_with_what_it_started(cli, fixture_env, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    fixture_env.package("deepspeed", {"__init__.py": f"""
        import subprocess, threading
        # a helper that even leaves the process group, then a hang
        helper = subprocess.Popen(["sleep", "600"], start_new_session=True)
        open({str(pid_file)!r}, "w").write(str(helper.pid))
        threading.Event().wait()
    """}, version="0.19.8")
    # terminal mode: the still-running notice (every 10 s) goes to stderr while it hangs
    began = time.monotonic()
    result = cli("check", "--python", str(fixture_env.python), "--verify-only", "deepspeed", "--verify-timeout", "12")
    elapsed = time.monotonic() - began
    assert result.returncode == 2, result.stderr
    assert ("✗ DSP950 the DeepSpeed smoke test hung: did not finish within 12 s during 'import deepspeed' "
            "(killed with its process group)") in result.stdout
    assert "ftdoctor: still running after 10 s: deepspeed" in result.stderr
    assert elapsed < 12 + 60
    assert pid_file.exists()
    assert_nothing_left(tmp_path, [pid_file])


def test_undefined_symbol_import_error_names_the_abi_mismatch_and_the_wheel(cli, fixture_env, tmp_path):
    # flash-attn whose extension references the old-ABI c10::Error constructor: torch >= 2.7 only exports
    # the cxx11 one, so Python's dlopen fails with "undefined symbol", as for a cxx11abiFALSE wheel.
    fixture_env.package("flash_attn", {"__init__.py": "import flash_attn_2_cuda\n"}, version="2.8.3", dist="flash-attn")
    gcc("""
        void _ZN3c105ErrorC2ENS_14SourceLocationESs(void);
        void *PyInit_flash_attn_2_cuda(void) { _ZN3c105ErrorC2ENS_14SourceLocationESs(); return 0; }
    """, fixture_env.site / f"flash_attn_2_cuda{extension_suffix()}", f"-L{torch_lib_dir()}", "-lc10")
    result, elapsed = check_verify(cli, fixture_env, "flash-attn")
    assert result.returncode == 2, result.stderr
    fla = finding(result, "FLA750")
    assert fla["severity"] == "error"
    assert "built for another torch (built with the other C++ string ABI): undefined symbol _ZN3c105ErrorC2ENS_14SourceLocationESs" in fla["message"]
    assert any("uninstall -y flash-attn" in c for fix in fla["fixes"] for c in fix["commands"])
    abi = finding(result, "ABI100")  # predicted statically, without the import
    assert abi["severity"] == "error" and "cxx11abi FALSE" in abi["message"]
    assert elapsed < 100
    assert_nothing_left(tmp_path)


def test_extension_needing_a_symbol_torch_lacks_is_found_without_loading_it(cli, fixture_env, tmp_path):
    marker = tmp_path / "was-loaded"
    fixture_env.package("xformers", {"__init__.py": "from . import _C\n"}, version="0.0.30")
    gcc(f"""
        #include <stdio.h>
        void _ZN3c1024ftdoctor_missing_in_torchEv(void);
        __attribute__((constructor)) static void loaded(void) {{ fclose(fopen("{marker}", "w")); }}
        void *PyInit__C(void) {{ _ZN3c1024ftdoctor_missing_in_torchEv(); return 0; }}
    """, fixture_env.site / "xformers" / f"_C{extension_suffix()}", f"-L{torch_lib_dir()}", "-lc10")
    result, elapsed = check_verify(cli, fixture_env, "torch")
    abi = finding(result, "ABI100")
    assert abi["severity"] == "error"
    assert "xformers/_C" in abi["message"] and "_ZN3c1024ftdoctor_missing_in_torchEv" in abi["message"]
    assert "built against another torch version" in abi["message"]
    assert any("xformers" in c for fix in abi["fixes"] for c in fix["commands"])
    assert not marker.exists(), "the static check loaded the extension"
    assert finding(result, "TOR380")["severity"] == "ok"  # the smoke tests beside it are not disturbed
    assert elapsed < 100
    assert_nothing_left(tmp_path)


def test_import_that_exhausts_memory_is_a_clear_failure(cli, fixture_env, tmp_path):
    fixture_env.package("bitsandbytes", {"__init__.py": """
        import mmap
        held = []
        while True:  # address space, 256 MiB at a time, never touched: stops at the smoke's memory limit
            held.append(mmap.mmap(-1, 256 << 20))
    """}, version="0.50.2")
    result, elapsed = check_verify(cli, fixture_env, "bitsandbytes-4bit")
    assert result.returncode == 2, result.stderr
    bnb = finding(result, "BNB850")
    assert bnb["severity"] == "error"
    assert "does not import" in bnb["message"] and "Cannot allocate memory" in bnb["message"]
    assert "; cause (oom_host): The process asked the operating system for more memory and was refused" in bnb["message"]
    assert elapsed < 100
    assert_nothing_left(tmp_path)


def test_ctrl_c_during_verify_ends_every_smoke_child(fixture_env, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    fixture_env.package("bitsandbytes", {"__init__.py": "import threading\nthreading.Event().wait()\n"}, version="0.50.2")
    proc = subprocess.Popen([sys.executable, "-m", "ftdoctor", "check", "--python", str(fixture_env.python),
                             "--verify-only", "bitsandbytes-4bit,distributed"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ})
    seen = set()

    def waiting_on_smokes():  # the facts are gathered (their torch probe came and went); the smoke children hang
        commands = [cmd for _, cmd in processes_mentioning(str(tmp_path))]
        seen.update(k for k in ("torch_child", "smoke_") if any(k in c for c in commands))
        return seen == {"torch_child", "smoke_"} and not any("torch_child" in c for c in commands)

    deadline = time.monotonic() + 60
    while not waiting_on_smokes() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "ftdoctor: interrupted" in stderr
    assert_nothing_left(tmp_path)
