"""The flash-attn, bitsandbytes and DeepSpeed rows answer the questions rules and the lock ask, at the boundaries."""

import dataclasses

import pytest

from ftdoctor.matrix import load_matrix
from ftdoctor.matrix.compat import cubin_runs, driver_runs_cuda, ptx_runs, variant_runs_on

M = load_matrix()


# -- flash-attn ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "release, torch, cuda, abi, key",
    [
        ("2.5.9.post1", "2.3.1", "12.1", False, "cu122torch2.3cxx11abiFALSE"),  # every CUDA 12 torch -> cu122
        ("2.6.3", "2.4.0", "12.4", True, "cu123torch2.4cxx11abiTRUE"),  # -> cu123
        ("2.6.3", "2.4.0", "11.8", False, "cu118torch2.4cxx11abiFALSE"),
        ("2.7.0.post2", "2.5.1", "12.4", False, "cu12torch2.5cxx11abiFALSE"),  # major only from 2.7.0
        ("2.8.3", "2.11.0", "13.0", True, "cu12torch2.11cxx11abiTRUE"),  # CUDA 13 guessed as cu12 before post1
        ("2.8.3.post1", "2.11.0", "13.0", True, "cu13torch2.11cxx11abiTRUE"),
        ("2.8.3.post2", "2.14.1", "13.2", True, "cu13torch2.14cxx11abiTRUE"),
    ],
)
def test_flash_attn_wheel_key_follows_each_release(release, torch, cuda, abi, key):
    assert M.flash_attn.release(release).wheel_key(torch, cuda, abi) == key


def test_flash_attn_prebuilt_wheels_and_their_gaps():
    fa = M.flash_attn
    r = fa.release("2.8.3")
    assert r.build_for("2.8.0", "12.8", True, "3.12", "linux_x86_64") is not None
    assert r.build_for("2.8.0", "12.6", False, "3.9", "linux_x86_64") is not None  # any CUDA 12 minor, both ABIs
    assert r.build_for("2.4.1", "12.4", False, "3.13", "linux_x86_64") is None  # excluded in the workflow
    assert r.build_for("2.4.1", "12.4", False, "3.12", "linux_x86_64") is not None
    assert r.build_for("2.9.0", "12.8", True, "3.12", "linux_x86_64") is None  # no torch 2.9 wheels
    assert r.build_for("2.8.0", "12.8", True, "3.14", "linux_x86_64") is None
    assert r.build_for("2.8.0", "12.8", True, "3.12", "linux_aarch64") is None
    # the cu12 name guessed for a CUDA 13 torch never counts as a fitting wheel
    assert fa.release("2.7.4.post1").build_for("2.6.0", "13.0", True, "3.12", "linux_x86_64") is None
    assert fa.release("2.8.3.post2").builds == ()  # assets unknown: never counted on


def test_flash_attn_release_lookup_keeps_post_releases_and_drops_wheel_keys():
    assert M.flash_attn.release("2.8.3.post1").version == "2.8.3.post1"
    assert M.flash_attn.release("2.8.3+cu12torch2.8cxx11abitrue").version == "2.8.3"
    assert M.flash_attn.release("1.0.9") is None


def test_flash_attn_blackwell_code_arrives_with_nvcc_12_8():
    old = M.flash_attn.release("2.7.4.post1").builds[0]
    new = M.flash_attn.release("2.8.0.post2").builds[0]
    assert not cubin_runs(old.archs, "12.0") and cubin_runs(new.archs, "12.0")
    assert cubin_runs(old.archs, "8.9")  # sm_89 runs the sm_80 cubin


# -- bitsandbytes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "version, cuda, override, library, how",
    [
        ("0.49.2", "12.8", None, "12.8", "exact"),
        ("0.49.2", "13.2", None, None, "missing"),  # exact match only before 0.50
        ("0.48.2", "13.0", None, "13.0", "exact"),
        ("0.47.0", "13.0", None, None, "missing"),
        ("0.50.2", "12.9", None, "12.8", "fallback"),  # highest shipped <= runtime, same major
        ("0.50.2", "12.0", None, "12.1", "fallback"),  # else lowest shipped > runtime
        ("0.50.2", "13.1", None, "13.0", "fallback"),
        ("0.50.2", "11.7", None, "11.8", "fallback"),
        ("0.50.2", "12.6", "124", "12.4", "override"),
        ("0.50.2", "12.6", "125", None, "override-missing"),
        ("0.45.5", "12.8", None, "12.8", "exact"),
        ("0.45.2", "12.8", None, None, "missing"),  # 12.8 arrived in 0.45.3
    ],
)
def test_bitsandbytes_library_choice(version, cuda, override, library, how):
    choice = M.bitsandbytes.choose(version, cuda, override)
    assert (choice.library, choice.how) == (library, how)


def test_bitsandbytes_floors_move_at_0_48():
    bnb = M.bitsandbytes
    assert bnb.floor("nf4_fp4", "0.47.0").min_cc == "5.0"
    assert bnb.floor("nf4_fp4", "0.48.0").min_cc == "6.0"
    assert bnb.floor("llm_int8", "0.43.3").min_cc == "7.5"
    assert bnb.release("0.48.1").cpu_ops and not bnb.release("0.47.0").cpu_ops


def test_bitsandbytes_library_targets():
    row = M.bitsandbytes.release("0.50.2")
    assert "7.0" in row.archs_for("12.8") and "7.0" not in row.archs_for("13.0")
    assert row.archs_for("12.6") == ("6.0", "7.0", "7.5", "8.0", "8.6", "8.9", "9.0")
    assert M.bitsandbytes.release("0.45.5").archs_for("12.8") is None  # not recorded for that release


# -- DeepSpeed ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "version, nvcc, torch_cuda, ok, how",
    [
        ("0.19.8", "12.8.93", "12.8", True, "equal"),
        ("0.19.8", "12.4.131", "12.8", True, "family"),
        ("0.16.3", "12.4", "12.8", False, "mismatch"),  # 12.8 joined the family in 0.16.4
        ("0.16.4", "12.4", "12.8", True, "family"),
        ("0.17.1", "12.9", "12.8", False, "mismatch"),  # 12.9 joined in 0.17.2
        ("0.19.8", "13.2.51", "13.0", False, "mismatch"),  # no CUDA 13 family
        ("0.19.8", "13.0.88", "13.0", True, "equal"),
        ("0.19.8", "11.8", "12.1", False, "mismatch"),  # never across majors
    ],
)
def test_deepspeed_cuda_agreement(version, nvcc, torch_cuda, ok, how):
    verdict = M.deepspeed.agreement(version, nvcc, torch_cuda)
    assert (verdict.ok, verdict.how) == (ok, how)


def test_deepspeed_skip_check_and_unknown_release():
    assert M.deepspeed.agreement("0.19.8", "13.2", "13.0", skip_check=True).how == "skip-check"
    assert M.deepspeed.agreement("0.9.0", "12.1", "12.1") is None
    assert M.deepspeed.release("0.19.5").cxx_std_torch_2_12 == 20
    assert M.deepspeed.release("0.19.4").cxx_std_torch_2_12 == 17


# -- shared answers -----------------------------------------------------------------------------------------

def test_cubin_and_ptx_rules():
    assert cubin_runs(["8.0"], "8.6") and cubin_runs(["8.0"], "8.9")
    assert not cubin_runs(["9.0"], "10.0") and not cubin_runs(["8.6"], "8.0")
    assert ptx_runs(["12.0"], "12.1") and not ptx_runs(["12.0"], "10.0")


def test_variant_and_driver_answers():
    v = M.torch.release_for("2.9.1").variant("13.0")
    assert variant_runs_on(v, "12.1") == "sass" and variant_runs_on(v, "9.0") == "sass"
    assert variant_runs_on(v, "7.0") is None  # CUDA 13 builds have no Volta
    assert variant_runs_on(v, "11.0") is None  # Thor: neither sm_100 nor sm_120 code, PTX only from 12.0 up
    only_ptx = dataclasses.replace(v, archs=("8.0",), ptx=("8.0",))
    assert variant_runs_on(only_ptx, "9.0") == "ptx"
    cuda = M.cuda
    assert driver_runs_cuda(cuda, "570.86.10", "12.8") == "full"
    assert driver_runs_cuda(cuda, "570.86.09", "12.8") == "mvc"
    assert driver_runs_cuda(cuda, "525.60.13", "12.8") == "mvc"
    assert driver_runs_cuda(cuda, "525.60.12", "12.1") is None
    assert driver_runs_cuda(cuda, "575.57.08", "13.0") is None  # never across majors
    assert driver_runs_cuda(cuda, "580.65.06", "13.2") == "mvc"
    assert cuda.first_driver_for_cc("12.0") == "570.86.10"
