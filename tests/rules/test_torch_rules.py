"""TOR3xx: torch installed, importable, the right kind of build for the machine, and seeing its GPUs."""

import pytest
from rule_kit import evolve, finding, machine, text

from ftdoctor.facts.model import PythonEnvFacts, Status, TorchFacts
from ftdoctor.findings import Severity
from ftdoctor.rules.torch_build import CudaTorchWithoutGpu, TorchBuildUsesGpu, TorchImports, TorchInstalled, TorchSeesGpus

H100 = machine("h100-driver580-cu130")
LAPTOP = machine("cpu-laptop")
OK, ERR, WARN, INFO, SKIP = Severity.OK, Severity.ERROR, Severity.WARNING, Severity.INFO, Severity.SKIPPED


def failed(reason, **more):
    return evolve(H100, **{"torch": TorchFacts(status=Status.ERROR, source="subprocess", version="2.9.1+cu130",
                                               reason=reason, returncode=more.pop("returncode", 1), **more)})


def without_torch(facts):
    dists = tuple(d for d in facts.python.distributions if d.name != "torch")
    return evolve(facts, **{"python.distributions": dists,
                            "torch": TorchFacts(status=Status.ABSENT, source="metadata", reason="torch is not installed")})


def test_installed_torch_passes():
    assert finding(TorchInstalled, H100).severity == OK


def test_missing_torch_offers_the_build_for_this_machine():
    f = finding(TorchInstalled, without_torch(H100))
    # the newest release; of its CUDA 13.0 and 13.2 builds, the one driver 580 (CUDA 13.0) supports itself
    assert f.severity == WARN and "torch==2.15.0+cu130 --index-url https://download.pytorch.org/whl/cu130" in text(f)


def test_missing_torch_on_a_laptop_offers_the_cpu_build():
    assert "download.pytorch.org/whl/cpu" in text(finding(TorchInstalled, without_torch(LAPTOP)))


def test_unknown_package_list_is_unknown():
    facts = evolve(without_torch(H100), **{"python": PythonEnvFacts(reason="the listing timed out"),
                                           "torch": TorchFacts()})
    assert finding(TorchInstalled, facts).message.startswith("unknown:")


def test_import_ok_passes_and_metadata_only_is_not_applicable():
    assert finding(TorchImports, H100).severity == OK
    assert finding(TorchImports, machine("l40s-metadata-only")).severity == SKIP


@pytest.mark.parametrize(
    "reason, words",
    [
        ("ImportError: /lib64/libc.so.6: version `GLIBC_2.28' not found", "SYS501"),
        ("ImportError: libstdc++.so.6: version `GLIBCXX_3.4.29' not found", "SYS502"),
        ("A module that was compiled using NumPy 1.x cannot be run in\nNumPy 2.0.2 as it may crash.", "numpy<2"),
        ("ImportError: libtorch_cuda.so: undefined symbol: ncclCommRegister", "--force-reinstall torch==2.9.1+cu130"),
        ("OSError: libcudnn.so.9: cannot open shared object file: No such file or directory", "--force-reinstall"),
    ],
)
def test_import_failures_are_explained(reason, words):
    f = finding(TorchImports, failed(reason))
    assert f.severity == ERR and words in text(f)


def test_a_crash_and_a_hang_are_named():
    assert "SIGSEGV" in finding(TorchImports, failed("killed", signal="SIGSEGV", returncode=-11)).message
    hang = finding(TorchImports, failed("`import torch` timed out after 90 s", returncode=None))
    assert "hung" in hang.message and "-X importtime" in text(hang)


def test_default_wheel_reinstall_uses_its_variant_index():
    f = finding(TorchImports, evolve(machine("torch-segfault")))
    assert "torch==2.6.0+cu124 --index-url https://download.pytorch.org/whl/cu124" in text(f)


def test_cpu_torch_on_a_gpu_machine_is_an_error_with_the_cuda_build():
    facts = evolve(H100, **{"torch.cuda": None, "torch.version": "2.9.1+cpu"})
    f = finding(TorchBuildUsesGpu, facts)
    assert f.severity == ERR and "torch==2.9.1+cu130" in text(f)


def test_rocm_torch_on_an_nvidia_machine_is_an_error():
    facts = evolve(H100, **{"torch.cuda": None, "torch.hip": "6.4", "torch.version": "2.9.1+rocm6.4"})
    assert "ROCm" in finding(TorchBuildUsesGpu, facts).message


def test_cuda_torch_on_a_gpu_machine_passes():
    assert finding(TorchBuildUsesGpu, H100).severity == OK
    assert finding(CudaTorchWithoutGpu, H100).severity == OK


def test_cuda_torch_without_gpu_warns_and_offers_the_cpu_build():
    f = finding(CudaTorchWithoutGpu, machine("laptop-cuda-torch-no-gpu"))
    assert f.severity == WARN and "torch==2.13.0+cpu --index-url https://download.pytorch.org/whl/cpu" in text(f)


def test_cpu_torch_without_gpu_is_fine():
    assert finding(TorchBuildUsesGpu, LAPTOP).severity == SKIP
    assert finding(CudaTorchWithoutGpu, LAPTOP).severity == SKIP


def test_torch_seeing_the_gpus_passes():
    assert finding(TorchSeesGpus, H100).severity == OK


def test_torch_not_seeing_the_gpus_quotes_torch():
    facts = evolve(H100, **{"torch.cuda_available": False, "torch.warnings": ("CUDA initialization: something",)})
    f = finding(TorchSeesGpus, facts)
    assert f.severity == ERR and "CUDA initialization: something" in f.message


def test_hidden_gpus_still_ask_for_a_cuda_build():
    facts = evolve(without_torch(H100), **{"driver.cuda_visible_devices": "", "driver.visible_devices": ()})
    assert "download.pytorch.org/whl/cu130" in text(finding(TorchInstalled, facts))


def test_a_gpu_without_driver_still_asks_for_a_cuda_build():
    facts = evolve(LAPTOP, **{"driver.pci_devices": machine("container-no-userspace").driver.pci_devices,
                              "torch.cuda": None})
    assert finding(TorchBuildUsesGpu, facts).severity == ERR
