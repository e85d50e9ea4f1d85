"""ARC2xx: kernel images for every GPU (cubin rule, PTX caveat, real arch list vs the matrix's), bf16, mixed GPUs."""

from dataclasses import replace

import pytest
from rule_kit import evolve, finding, machine, text

from ftdoctor.facts.model import Resolved, Status, TorchFacts
from ftdoctor.findings import Severity
from ftdoctor.rules.architecture import Bf16Hardware, KernelImages, MixedGpus

H100 = machine("h100-driver580-cu130")
OK, ERR, WARN, INFO, SKIP = Severity.OK, Severity.ERROR, Severity.WARNING, Severity.INFO, Severity.SKIPPED


def one_gpu(facts, name, cc):
    gpu = replace(facts.driver.gpus[0], name=name, compute_capability=cc)
    return evolve(facts, **{"driver.gpus": (gpu,)})


def with_arch(facts, *arch, cuda="12.8", driver_cuda="12.8"):
    return evolve(facts, **{"torch.arch_list": arch, "torch.cuda": cuda,
                            "driver.cuda_driver_version": Resolved(driver_cuda, "nvml")})


@pytest.mark.parametrize(
    "cc, arch, severity",
    [
        ("8.9", ("sm_80", "sm_86"), OK),  # sm_86 serves 8.9: same major, lower minor
        ("8.6", ("sm_80",), OK),
        ("9.0", ("sm_80", "sm_86"), ERR),  # never across majors
        ("8.0", ("sm_86",), ERR),  # a higher minor does not serve a lower one
        ("12.0", ("sm_90",), ERR),  # Hopper cubins do not run on Blackwell
        ("12.1", ("sm_120",), OK),  # sm_120 serves the GB10's 12.1
        ("10.3", ("sm_100",), OK),
        ("8.7", ("sm_80", "sm_86"), ERR),  # an integrated GPU (Orin) runs only its own cubins
        ("8.7", ("sm_87",), OK),
    ],
)
def test_cubin_rule(cc, arch, severity):
    assert finding(KernelImages, with_arch(one_gpu(H100, "X", cc), *arch)).severity == severity


def test_ptx_serves_newer_gpus_when_the_driver_is_new_enough():
    facts = with_arch(one_gpu(H100, "NVIDIA B200", "10.0"), "sm_80", "sm_90", "compute_90", cuda="12.8", driver_cuda="12.8")
    assert finding(KernelImages, facts).severity == INFO


def test_ptx_from_a_newer_toolkit_than_the_driver_cannot_be_compiled():
    facts = with_arch(one_gpu(H100, "NVIDIA B200", "10.0"), "sm_80", "sm_90", "compute_90", cuda="12.8", driver_cuda="12.6")
    f = finding(KernelImages, facts)
    assert f.severity == ERR and "older than CUDA 12.8" in f.message


def test_ptx_with_an_unknown_driver_is_a_warning_not_ok():
    facts = evolve(with_arch(one_gpu(H100, "NVIDIA B200", "10.0"), "sm_90", "compute_90"),
                   **{"driver.cuda_driver_version": Resolved(), "driver.driver_version": Resolved()})
    assert finding(KernelImages, facts).severity == WARN


def test_blackwell_on_a_cu126_build_names_the_first_build_with_kernels():
    f = finding(KernelImages, machine("rtx5090-cu126"))
    assert f.severity == ERR and "no kernel image is available" in f.message
    assert "first in torch 2.7 cu128" in f.message and "from 2.8" in f.message
    assert "torch==2.7.1+cu128 --index-url https://download.pytorch.org/whl/cu128" in text(f)


def test_volta_on_cuda_13_says_no_cuda_13_build_will_run():
    f = finding(KernelImages, machine("v100-cu130"))
    assert "CUDA 13 cannot target GPUs below sm_75" in f.message and "4 × Tesla V100" in f.message
    assert "torch==2.11.0+cu126" in text(f)


def test_one_unsupported_gpu_of_two_is_named():
    f = finding(KernelImages, machine("two-gpus-4090-1080ti"))
    assert "GPU 1 (NVIDIA GeForce GTX 1080 Ti, sm_61)" in f.message and "GPU 0" not in f.message
    assert "torch==2.8.0+cu126" in text(f)


def test_without_import_the_matrix_list_is_used_and_named():
    f = finding(KernelImages, machine("l40s-metadata-only"))
    assert f.severity == OK and "matrix row for torch 2.8 cu128" in f.message


def test_the_matrix_list_also_finds_the_sm120_trap():
    facts = evolve(machine("rtx5090-cu126"), **{"torch": TorchFacts(status=Status.UNKNOWN, source="metadata",
                                                                     version="2.7.1", cuda="12.6", reason="--no-torch")})
    f = finding(KernelImages, facts)
    assert f.severity == ERR and "matrix row for torch 2.7 cu126" in str(f.evidence)


def test_an_empty_real_arch_list_falls_back_to_the_matrix():
    facts = evolve(machine("rtx5090-cu126"), **{"torch.arch_list": ()})
    assert "torch reported no arch list" in str(finding(KernelImages, facts).evidence)


def test_no_row_and_no_import_is_unknown():
    facts = evolve(H100, **{"torch": TorchFacts(status=Status.UNKNOWN, source="metadata", version="1.13.1", cuda="11.7")})
    assert finding(KernelImages, facts).message.startswith("unknown:")


def test_cpu_torch_and_no_gpu_are_not_judged():
    assert finding(KernelImages, evolve(H100, **{"torch.cuda": None})).severity == SKIP
    assert finding(KernelImages, machine("cpu-laptop")).severity == SKIP


def test_visible_devices_restrict_the_judged_gpus():
    facts = machine("two-gpus-4090-1080ti")
    from ftdoctor.facts.model import VisibleDevice

    only_4090 = evolve(facts, **{"driver.cuda_visible_devices": "0", "driver.visible_devices": (VisibleDevice(0, "0", 0),)})
    assert finding(KernelImages, only_4090).severity == OK


def test_trl_default_bf16_on_a_t4_warns_with_fp16_fix():
    f = finding(Bf16Hardware, machine("t4-driver525"))
    assert f.severity == WARN and "TRL 1.12.0" in f.message and "fp16=True" in text(f)


def test_trl_before_0_19_does_not_assume_bf16():
    facts = evolve(machine("t4-driver525"), **{"python.distributions": tuple(
        replace(d, version="0.18.2") if d.name == "trl" else d for d in machine("t4-driver525").python.distributions)})
    assert finding(Bf16Hardware, facts).severity == INFO


def test_accelerate_asking_for_bf16_on_a_pascal_gpu_warns():
    facts = evolve(machine("two-gpus-4090-1080ti"), **{"env": {"ACCELERATE_MIXED_PRECISION": "bf16"}})
    f = finding(Bf16Hardware, facts)
    assert f.severity == WARN and "ACCELERATE_MIXED_PRECISION=fp16" in text(f)


def test_ampere_and_newer_have_native_bf16():
    assert finding(Bf16Hardware, H100).severity == OK
    assert finding(Bf16Hardware, one_gpu(H100, "NVIDIA A100", "8.0")).severity == OK


def test_mixed_gpu_models_warn_about_device_order():
    f = finding(MixedGpus, machine("two-gpus-4090-1080ti"))
    assert f.severity == WARN and "export CUDA_DEVICE_ORDER=PCI_BUS_ID" in text(f)


def test_mixed_gpus_with_pci_order_are_info():
    facts = evolve(machine("two-gpus-4090-1080ti"), **{"env": {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}})
    assert finding(MixedGpus, facts).severity == INFO


def test_identical_gpus_pass():
    assert finding(MixedGpus, H100).severity == OK
