"""The smoke-test rule families judged on recorded facts: each verdict, its boundary, and its fix."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ftdoctor.facts.model import (
    Distribution, DriverFacts, Facts, Gpu, PythonEnvFacts, Resolved, SmokeResult, SmokeStatus, Status, SystemFacts,
    TorchFacts, VerifyFacts,
)
from ftdoctor.findings import Severity
from ftdoctor.matrix import load_matrix
from ftdoctor.rules import all_rules
from ftdoctor.rules.base import Context
from ftdoctor.rules.engine import judge
from ftdoctor.rules.smoke import explained, rules_for_smokes, without_unrun_smokes
from ftdoctor.rules.verify_flash_attn import SDPA_FIX, wheel_fixes

PY = "/opt/env/bin/python"


def facts(*smokes: SmokeResult, gpus=(), driver=None, torch=None, dists=(), env=None, shm=None, container=()) -> Facts:
    return Facts(
        python=PythonEnvFacts(status=Status.OK, executable=PY, version="3.11.7", distributions=tuple(dists)),
        torch=torch or TorchFacts(status=Status.OK, version="2.8.0+cu128", cuda="12.8", cxx11_abi=True),
        driver=DriverFacts(gpus=tuple(gpus), driver_version=Resolved(driver, "nvml" if driver else "")),
        system=SystemFacts(machine="x86_64", shm_bytes=shm, container=tuple(container)),
        env=env or {},
        verify=VerifyFacts(status=Status.OK, reason="", smokes=smokes) if smokes else VerifyFacts(),
    )


def smoke(name, status="ok", reason="", **details) -> SmokeResult:
    return SmokeResult(name=name, status=SmokeStatus(status), reason=reason, details=details)


def verdict(f: Facts, code: str):
    findings = {x.code: x for x in judge(all_rules(), Context(facts=f, matrix=load_matrix()))}
    return findings[code]


def context(f: Facts) -> Context:
    return Context(facts=f, matrix=load_matrix())


def gpu(name, index=0, cc="8.9"):
    return Gpu(index=index, name=name, source="nvml", compute_capability=cc)


# --- what applies when ------------------------------------------------------------------------------------

def test_without_verify_the_smoke_rules_are_left_out_and_the_static_ones_stay():
    rules = without_unrun_smokes(all_rules(), facts())
    codes = {r.code for r in rules}
    assert "NET103" in codes and "ABI100" in codes and not codes & {"TOR380", "FLA750", "NET100", "DSP955"}


def test_only_the_families_of_smokes_that_ran_are_judged():
    codes = {r.code for r in without_unrun_smokes(all_rules(), facts(smoke("deepspeed")))}
    assert {"DSP950", "DSP955", "NET103"} <= codes and not codes & {"TOR380", "NET100", "FLA750"}


def test_the_gate_gets_the_families_of_the_smokes_it_asked_for():
    codes = {r.code for r in rules_for_smokes(["distributed"])}
    assert {"NET100", "NET101", "NET103", "NET104"} <= codes and not any(c.startswith("TOR") for c in codes)


def test_a_smoke_that_was_not_run_is_skipped_with_the_reason():
    f = facts(smoke("torch", reason="a 256x256 matmul is right on cpu", devices=[{"device": "cpu", "ok": True}]))
    assert verdict(f, "BNB850").severity == Severity.SKIPPED
    assert verdict(f, "BNB850").message == "the bitsandbytes-4bit smoke test was not run"


# --- the cause, from ftdoctor explain ------------------------------------------------------------------------

def test_the_cause_comes_from_explain_with_its_confidence_and_never_a_guess():
    ctx = context(facts())
    sure = explained(ctx, "RuntimeError: CUDA error: no kernel image is available for execution on the device")
    assert sure.suffix.startswith("; cause (arch_not_in_build): ") and sure.fixes
    unsure = explained(ctx, "torch.distributed.elastic.multiprocessing.api: exits with return code = -9")
    assert unsure.suffix.startswith("; cause (oom_host, medium confidence): A training process was killed with SIGKILL")
    assert unsure.evidence["cause"]["explain_signature"] == "process-sigkill"
    for text in ("", "   ", "ValueError: the smoke test's own assertion failed"):
        nothing = explained(ctx, text)
        assert (nothing.suffix, nothing.fixes, nothing.evidence) == ("", (), {})


# --- torch ------------------------------------------------------------------------------------------------

def test_torch_kernel_missing_for_the_gpu_names_the_cause():
    f = facts(smoke("torch", "failed", "cuda:0: ...", torch="2.8.0+cu128", devices=[
        {"device": "cuda:0", "name": "Tesla K80", "ok": False,
         "error": "CUDA error: no kernel image is available for execution on the device"}]))
    found = verdict(f, "TOR380")
    assert found.severity == Severity.ERROR
    # the smoke's own facts first, then the cause `ftdoctor explain` names for its error
    assert found.message.startswith("torch failed on cuda:0 (Tesla K80): CUDA error: no kernel image")
    assert "; cause (arch_not_in_build): A CUDA kernel has no binary for this GPU" in found.message
    assert found.evidence["cause"]["category"] == "arch_not_in_build"
    assert found.evidence["cause"]["source"].startswith("https://github.com/")
    assert any("get_arch_list" in c for fix in found.fixes for c in fix.commands)  # explain's fix, for this python


def test_cuda_torch_that_cannot_see_the_gpus_fails_with_torchs_warning():
    details = {"torch": "2.8.0+cu128", "torch_cuda": "12.8", "cuda_compiled": True, "cuda_available": False,
               "device_count": 0, "warnings": ["The NVIDIA driver on your system is too old (found version 11080)."],
               "devices": [{"device": "cpu", "ok": True}]}
    f = facts(smoke("torch", **details), gpus=[gpu("NVIDIA A100")], driver="520.61.05")
    found = verdict(f, "TOR381")
    assert found.severity == Severity.ERROR and "too old (found version 11080)" in found.message
    assert ("; cause (driver_too_old): The NVIDIA driver 520.61.05 only supports CUDA 11.8, older than the CUDA 12.8 "
            "that torch 2.8.0+cu128 was built with.") in found.message
    # explain's fix is written for these facts: this interpreter, a torch build this driver runs
    assert found.fixes[0].commands[0].startswith(f"{PY} -m pip install torch==") and "cu118" in found.fixes[0].commands[0]
    assert verdict(replace(f, driver=DriverFacts()), "TOR381").severity == Severity.SKIPPED


# --- flash-attn ---------------------------------------------------------------------------------------------

FA = Distribution(name="flash-attn", version="2.8.3")


WHEELS = "https://github.com/Dao-AILab/flash-attention/releases/download"


def fa_facts(version: str, torch_version: str, cuda: str | None, abi: bool, gpus=()) -> Facts:
    torch = TorchFacts(status=Status.OK, version=torch_version, cuda=cuda, cxx11_abi=abi)
    return facts(torch=torch, dists=[Distribution(name="flash-attn", version=version)], gpus=gpus)


def installs(fix) -> str:
    """The wheel file a fix installs (its URL's last part), or "" for a fix that installs no wheel file."""
    urls = [part for c in fix.commands for part in c.split() if part.endswith(".whl")]
    return urls[0].rsplit("/", 1)[-1] if urls else ""


def test_the_installed_releases_wheel_when_it_was_published():
    f = fa_facts("2.8.3", "2.8.0+cu128", "12.8", True)
    fix, = wheel_fixes(context(f))
    name = "flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    assert name in fix.summary and installs(fix) == name
    assert fix.commands == (f"{PY} -m pip install --no-deps --force-reinstall {WHEELS}/v2.8.3/{name}",)
    # one answer with FLA702, which judges an installed wheel of another torch from its recorded file name
    other = f"{WHEELS}/v2.8.3/flash_attn-2.8.3+cu12torch2.7cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    wheel = replace(f, python=replace(f.python, distributions=(Distribution("flash-attn", "2.8.3", direct_url=other),)))
    assert verdict(wheel, "FLA702").fixes == (fix,)


def test_an_unpublished_wheel_is_never_named_a_newer_release_that_published_one_is():
    # flash-attn 2.7.4.post1 built no torch 2.8 wheels; 2.8.3 did (and its sm_80..sm_120 code runs on an L40S)
    f = fa_facts("2.7.4.post1", "2.8.0+cu128", "12.8", True, gpus=[gpu("NVIDIA L40S", cc="8.9")])
    published, source = wheel_fixes(context(f))
    assert installs(published) == "flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    assert "2.7.4" not in installs(published)
    assert source.summary.startswith("No prebuilt wheel fits: build flash-attn 2.7.4.post1 against this torch")


@pytest.mark.parametrize("torch_version, cuda, abi", [
    ("2.9.1+cu130", "13.0", True),  # setup.py would guess +cu12torch2.9: no release published torch 2.9 wheels
    ("2.9.1+cu128", "12.8", True),
])
def test_no_published_wheel_means_the_source_build(torch_version, cuda, abi):
    fixes = wheel_fixes(context(fa_facts("2.8.3", torch_version, cuda, abi)))
    assert [installs(fix) for fix in fixes] == [""]
    assert fixes[0].summary.startswith("No prebuilt wheel fits: build flash-attn 2.8.3 against this torch")


def test_an_older_cuda_gets_the_wheel_of_its_own_cuda_tag():
    fix, = wheel_fixes(context(fa_facts("2.7.3", "2.4.0+cu118", "11.8", False)))
    assert installs(fix) == "flash_attn-2.7.3+cu11torch2.4cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"


def test_unknown_key_or_cpu_torch_names_no_wheel():
    assert wheel_fixes(context(fa_facts("2.8.3", "2.13.0+cpu", None, True))) == ()
    unknown = fa_facts("9.9.9", "2.9.1+cu128", "12.8", True)  # not in the matrix, and nothing published for torch 2.9
    assert wheel_fixes(context(unknown)) == ()
    found = verdict(replace(unknown, verify=VerifyFacts(status=Status.OK, reason="", smokes=(smoke(
        "flash-attn", "failed", version="9.9.9", torch="2.9.1+cu128", **{"import": {
            "ok": False, "error": "flash_attn_2_cuda.so: undefined symbol: _ZN3c104cuda9SetDeviceEi"}}),))), "FLA750")
    assert "cannot tell whether one was published" in found.fixes[0].summary
    assert not any(".whl" in c for fix in found.fixes for c in fix.commands)


def test_undefined_symbol_means_another_torch_and_the_fix_names_the_published_wheel():
    symbol = "_ZN3c105ErrorC2ENS_14SourceLocationESs"
    f = facts(smoke("flash-attn", "failed", torch="2.8.0+cu128", version="2.8.3", forward={"ok": False, "skipped": "x"},
                    **{"import": {"ok": False, "error_type": "ImportError",
                                  "error": f"/env/flash_attn_2_cuda.cpython-311-x86_64-linux-gnu.so: undefined symbol: {symbol}"}}),
              dists=[FA])
    found = verdict(f, "FLA750")
    assert found.severity == Severity.ERROR
    assert f"built for another torch (built with the other C++ string ABI): undefined symbol {symbol}" in found.message
    name = "flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    assert name in found.fixes[0].summary
    assert found.fixes[0].commands == (f"{PY} -m pip install --no-deps --force-reinstall {WHEELS}/v2.8.3/{name}",)


def test_flash_attn_not_installed_on_a_machine_without_gpu_says_both_reasons_once_each():
    skipped = smoke("flash-attn", "skipped", "flash-attn is not installed")
    assert verdict(facts(skipped), "FLA750").message == "flash-attn is not installed"
    forward = verdict(facts(skipped), "FLA751")
    assert forward.severity == Severity.SKIPPED
    assert forward.message == ("no NVIDIA GPU here, and the forward pass needs one of compute capability 8.0+ "
                               "(flash-attn is not installed)")
    with_gpu = verdict(facts(skipped, gpus=[gpu("NVIDIA A100-SXM4-80GB", cc="8.0")]), "FLA751")
    assert with_gpu.severity == Severity.SKIPPED and with_gpu.message == "flash-attn is not installed"


def test_an_import_error_flash_attn_does_not_recognise_gets_explains_cause():
    error = ("/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found "
             "(required by /env/flash_attn_2_cuda.cpython-311-x86_64-linux-gnu.so)")
    f = facts(smoke("flash-attn", "failed", version="2.8.3", **{"import": {"ok": False, "error_type": "ImportError",
                                                                          "error": error}}), dists=[FA])
    found = verdict(f, "FLA750")
    assert found.message.startswith(f"flash-attn 2.8.3 does not import: ImportError: {error}; cause (system_libs_too_old): ")
    assert found.evidence["cause"]["explain_signature"]
    assert "libstdcxx" in found.fixes[0].commands[0]  # explain's fix first, then the reinstall and sdpa
    assert found.fixes[-1].summary.startswith("use PyTorch's attention instead")


def test_extension_for_another_cuda():
    f = facts(smoke("flash-attn", "failed", torch_cuda="12.8", version="2.8.3", **{"import": {
        "ok": False, "error": "libcudart.so.11.0: cannot open shared object file: No such file or directory"}}), dists=[FA])
    assert "needs libcudart.so.11.0, which is not there: it was built for another CUDA than this torch's (12.8)" in verdict(f, "FLA750").message


def test_turing_gets_use_sdpa_and_a_wrong_result_is_an_error():
    turing = {"ok": False, "device": "Tesla T4", "compute_capability": "7.5",
              "error_type": "RuntimeError", "error": "FlashAttention only supports Ampere GPUs or newer."}
    f = facts(smoke("flash-attn", "failed", **{"import": {"ok": True}, "forward": turing}), dists=[FA])
    found = verdict(f, "FLA751")
    assert found.severity == Severity.WARNING and "Tesla T4 (sm_75) is not supported by FlashAttention-2" in found.message
    assert 'attn_implementation="sdpa"' in found.fixes[0].summary
    wrong = {"ok": False, "device": "H100", "error": "flash-attn output differs from the float32 reference by 0.5 (sdpa: 0.002)"}
    f = facts(smoke("flash-attn", "failed", **{"import": {"ok": True}, "forward": wrong}), dists=[FA])
    assert verdict(f, "FLA751").severity == Severity.ERROR
    right = {"ok": True, "device": "H100", "errors": [{"causal": False, "flash": 0.003, "sdpa": 0.002}]}
    f = facts(smoke("flash-attn", **{"import": {"ok": True}, "forward": right}), dists=[FA])
    assert verdict(f, "FLA751").message == "forward matches the float32 reference within 0.003 on H100"


# --- bitsandbytes -------------------------------------------------------------------------------------------

def bnb(library, **extra):
    base = {"version": "0.50.2", "torch": "2.8.0+cu128", "torch_cuda": "12.8", "device": "cuda",
            "bnb_cuda_version_env": None, "library": library, "sanity": {"ok": True, "how": "own"},
            "nf4_lora": {"ok": True, "dtype": "bfloat16", "kernel_relative_error": 0.004}}
    return smoke("bitsandbytes-4bit", **{**base, **extra})


def test_error_handler_fallback_is_an_error_on_gpu_and_a_warning_on_cpu():
    lib = {"known": True, "class": "ErrorHandlerMockBNBNativeLibrary", "path": None, "fallback": True, "backend": "CUDA",
           "fallback_error": "libcudart.so.12: cannot open shared object file"}
    found = verdict(facts(bnb(lib)), "BNB850")
    assert found.severity == Severity.ERROR and "every GPU operation will raise" in found.message
    assert found.fixes[0].commands == (f"{PY} -m pip install --force-reinstall --no-deps bitsandbytes==0.50.2",)
    cpu = verdict(facts(bnb({**lib, "backend": "CPU"})), "BNB850")
    assert cpu.severity == Severity.WARNING


def test_bnb_cuda_version_override_that_does_not_match_torch():
    lib = {"fallback": False, "backend": "CUDA", "path": "/env/bitsandbytes/libbitsandbytes_cuda124.so"}
    found = verdict(facts(bnb(lib, bnb_cuda_version_env="124")), "BNB850")
    assert found.severity == Severity.WARNING
    assert found.message == "BNB_CUDA_VERSION=124 makes bitsandbytes load libbitsandbytes_cuda124.so while torch uses CUDA 12.8"
    assert verdict(facts(bnb(lib, bnb_cuda_version_env="128")), "BNB850").severity == Severity.OK


def test_nearest_packaged_build_is_named():
    lib = {"fallback": False, "backend": "CUDA", "path": "/env/bitsandbytes/libbitsandbytes_cuda126.so"}
    assert "(CUDA 12.8; nearest packaged build: CUDA 12.6)" in verdict(facts(bnb(lib)), "BNB850").message


def test_4bit_unsupported_on_cpu_is_a_warning():
    lib = {"fallback": False, "backend": "CPU", "path": "/env/bitsandbytes/libbitsandbytes_cpu.so"}
    step = {"ok": False, "error_type": "NotImplementedError", "error": "4-bit on CPU is not implemented"}
    found = verdict(facts(bnb(lib, device="cpu", torch_cuda=None, nf4_lora=step)), "BNB852")
    assert found.severity == Severity.WARNING and "does not run on the CPU" in found.message


# --- DeepSpeed ----------------------------------------------------------------------------------------------

def ds(**extra):
    base = {"version": "0.19.8", "torch": "2.9.1+cu130", "torch_cuda": "13.0", "accelerator": "cuda",
            "communication_backend": "nccl", "installed_ops": [], "ops": {"cpu_adam": {"compatible": True}},
            "prerequisites": {"nvcc": {"ok": True, "path": "/usr/local/cuda/bin/nvcc", "version": "12.8"},
                              "ninja": {"ok": False, "path": None}}}
    return smoke("deepspeed", **{**base, **extra})


def test_nvcc_major_must_match_torchs_cuda():
    found = verdict(facts(ds()), "DSP954")
    assert found.severity == Severity.ERROR and "differ in major version" in found.message
    same = ds(prerequisites={"nvcc": {"ok": True, "path": "/usr/local/cuda/bin/nvcc", "version": "13.2"}})
    assert verdict(facts(same), "DSP954").severity == Severity.OK
    cpu = ds(accelerator="cpu")
    assert verdict(facts(cpu), "DSP954").severity == Severity.SKIPPED


def test_missing_ninja_warns_with_the_pip_fix():
    found = verdict(facts(ds()), "DSP951")
    assert found.severity == Severity.WARNING and found.fixes[0].commands == (f"{PY} -m pip install ninja",)


def test_cpu_accelerator_next_to_gpus_is_a_warning():
    f = facts(ds(accelerator="cpu", ds_accelerator_env="cpu"), gpus=[gpu("NVIDIA H100 80GB HBM3", cc="9.0")])
    found = verdict(f, "DSP950")
    assert found.severity == Severity.WARNING and "(DS_ACCELERATOR=cpu is set)" in found.message


def test_ops_build_not_run_says_how_to_opt_in_and_a_compile_error_names_its_cause():
    assert "--verify-deepspeed-ops" in verdict(facts(ds()), "DSP955").message
    failed = SmokeResult("deepspeed-ops", SmokeStatus.FAILED, "fused_adam: ...", {"ops": {"fused_adam": {
        "ok": False, "error": "Error building extension 'fused_adam'"}}},
        output_tail="ATen.h:5:2: error: #error C++20 or later compatible compiler is required to use ATen.")
    found = verdict(facts(ds(), failed), "DSP955")
    assert found.severity == Severity.ERROR
    assert "; cause (build_env): The host C++ compiler used for the build does not support C++20" in found.message


# --- distributed --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("driver, env, severity", [
    ("550.40.06", {}, Severity.ERROR),
    ("550.40.07", {}, Severity.OK),
    ("535.183.01", {"NCCL_P2P_DISABLE": "1", "NCCL_IB_DISABLE": "1"}, Severity.OK),
    ("535.183.01", {"NCCL_P2P_DISABLE": "1"}, Severity.ERROR),
    (None, {}, Severity.WARNING),
])
def test_rtx_40_series_p2p_rule(driver, env, severity):
    gpus = [gpu("NVIDIA GeForce RTX 4090", 0), gpu("NVIDIA GeForce RTX 4090", 1)]
    found = verdict(facts(gpus=gpus, driver=driver, env=env), "NET103")
    assert found.severity == severity, found.message
    if severity == Severity.ERROR:
        assert "NCCL_IB_DISABLE=1" in found.fixes[0].commands[0]


def test_one_consumer_gpu_or_datacenter_gpus_need_nothing():
    assert verdict(facts(gpus=[gpu("NVIDIA GeForce RTX 4090")], driver="535.1"), "NET103").severity == Severity.SKIPPED
    two = [gpu("NVIDIA A100-SXM4-80GB", 0, "8.0"), gpu("NVIDIA A100-SXM4-80GB", 1, "8.0")]
    assert verdict(facts(gpus=two, driver="535.1"), "NET103").severity == Severity.OK


def test_port_in_use_fails_net104_and_skips_the_all_reduce():
    busy = smoke("distributed", "failed", "the rendezvous port 29500 (MASTER_PORT) is already in use: Address already in use",
                 port=29500, port_source="MASTER_PORT", port_in_use=True)
    assert verdict(facts(busy), "NET104").severity == Severity.ERROR
    assert verdict(facts(busy), "NET100").message == "not run: the rendezvous port 29500 is in use (NET104)"


def test_without_master_port_the_launchers_default_port_is_judged():
    free = smoke("distributed", reason="2 ranks all-reduced over gloo and got the right sum", backend="gloo",
                 port=41234, port_source="a free port", launcher_port=29500, launcher_port_busy=None)
    found = verdict(facts(free), "NET104")
    assert found.severity == Severity.OK and "port 29500, the launchers' default, is free" in found.message
    held = replace(free, details={**free.details, "launcher_port_busy": "Address already in use"})
    found = verdict(facts(held), "NET104")
    assert found.severity == Severity.WARNING
    assert "MASTER_PORT is not set and port 29500" in found.message and "Address already in use" in found.message
    assert found.fixes[0].commands == ("ss -ltnp 'sport = :29500'",) and "--master-port" in found.fixes[0].summary
    assert verdict(facts(held), "NET100").severity == Severity.OK  # the smoke's own port was free: it ran


def test_master_port_set_and_free_passes_on_that_port():
    mine = smoke("distributed", reason="ok", backend="gloo", port=29501, port_source="MASTER_PORT")
    assert verdict(facts(mine), "NET104").message == "port 29501 (MASTER_PORT) was free"


def test_a_rank_that_hung_in_nccl_init():
    hung = smoke("distributed", "failed", "rank 1 did not finish in time (killed) in stage 'init_process_group(nccl)'",
                 backend="nccl", world_size=2, port=1, ranks=[])
    found = verdict(facts(hung), "NET101")
    assert found.severity == Severity.ERROR and "NCCL_DEBUG=INFO" in found.fixes[0].commands[0]


def test_a_rank_that_could_not_bind_names_the_port_cause_though_its_error_has_no_port():
    failed = smoke("distributed", "failed", "rank 0 failed in stage 'init_process_group(gloo)'", backend="gloo",
                   world_size=2, port=29500, ranks=[{"rank": 0, "stderr_tail": "RuntimeError: Address already in use"}])
    found = verdict(facts(failed), "NET100")
    # the stage names init_process_group: the rendezvous is what could not bind, so the confidence is high
    assert "; cause (dist_port_in_use): A port this run tried to listen on is already in use" in found.message
    assert found.evidence["cause"]["explain_signature"] == "dist-address-in-use"


def test_a_crash_whose_output_explain_explains_names_the_wheel_once():
    tail = "ImportError: /env/flash_attn_2_cuda.cpython-311-x86_64-linux-gnu.so: undefined symbol: _ZN3c104cuda9SetDeviceEi"
    crashed = SmokeResult(name="flash-attn", status=SmokeStatus.CRASHED, reason="the child crashed", stage="import",
                          output_tail=tail)
    found = verdict(facts(crashed, dists=[FA]), "FLA750")
    assert "; cause (abi_mismatch): " in found.message
    wheel = [c for fix in found.fixes for c in fix.commands if c.endswith(".whl")]
    assert len(wheel) == 1 and wheel[0].endswith("flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl")
    assert found.fixes[-1] == SDPA_FIX
