"""TLK4xx: the toolkit that compiles against torch."""

import pytest
from rule_kit import evolve, finding, machine, text

from ftdoctor.facts.model import Distribution, Resolved, Status, ToolkitFacts, ToolkitInstall
from ftdoctor.findings import Severity
from ftdoctor.rules.toolkit import ArchListCoversGpus, OneToolkit, ToolkitForBuilds, ToolkitMatchesTorch

H100 = machine("h100-driver580-cu130")
MIG = machine("a100-mig-two-toolkits")
OK, ERR, WARN, INFO, SKIP = Severity.OK, Severity.ERROR, Severity.WARNING, Severity.INFO, Severity.SKIPPED


def toolkit_at(facts, version, home="/usr/local/cuda-x"):
    return evolve(facts, **{"torch.cuda_home": home, "toolkit": ToolkitFacts(
        status=Status.OK, cuda_home=Resolved(home, "CUDA_HOME"), installs=(ToolkitInstall(home, version, "CUDA_HOME"),))})


@pytest.mark.parametrize(
    "nvcc, severity", [("13.0.88", OK), ("13.2.51", INFO), ("12.9.86", ERR), ("14.0.0", ERR)],
)
def test_toolkit_major_against_torch_cuda_13(nvcc, severity):
    assert finding(ToolkitMatchesTorch, toolkit_at(H100, nvcc)).severity == severity


def test_major_mismatch_with_deepspeed_names_it_and_the_matching_toolkit():
    f = finding(ToolkitMatchesTorch, MIG)
    assert f.severity == ERR and "DeepSpeed 0.17.6" in f.message
    assert "export CUDA_HOME=/usr/local/cuda-12.4" in text(f)


def test_major_mismatch_without_builders_is_a_warning():
    dists = tuple(d for d in MIG.python.distributions if d.name != "deepspeed")
    assert finding(ToolkitMatchesTorch, evolve(MIG, **{"python.distributions": dists})).severity == WARN


def test_no_toolkit_is_left_to_tlk401():
    assert finding(ToolkitMatchesTorch, machine("t4-driver525")).severity == SKIP


def test_deepspeed_without_toolkit_warns_with_an_install_command():
    facts = evolve(machine("t4-driver525"), **{"python.distributions": machine("t4-driver525").python.distributions
                                               + (Distribution("deepspeed", "0.18.6"),)})
    f = finding(ToolkitForBuilds, facts)
    assert f.severity == WARN and "MissingCUDAException" in f.message and "cuda-toolkit-13-0" in text(f)


def test_build_variable_counts_as_a_builder():
    facts = evolve(machine("t4-driver525"), **{"env": {"FLASH_ATTENTION_FORCE_BUILD": "TRUE"}})
    assert finding(ToolkitForBuilds, facts).severity == WARN


def test_deepspeed_with_a_toolkit_passes_and_nothing_to_build_is_not_applicable():
    assert finding(ToolkitForBuilds, H100).severity == OK
    assert finding(ToolkitForBuilds, machine("t4-driver525")).severity == SKIP


def test_cuda_home_and_path_nvcc_disagreeing_warns():
    f = finding(OneToolkit, MIG)
    assert f.severity == WARN and "export PATH=/usr/local/cuda-11.8/bin:$PATH" in text(f)


def test_one_toolkit_is_not_judged():
    assert finding(OneToolkit, H100).severity == SKIP


@pytest.mark.parametrize(
    "value, severity",
    [("9.0", OK), ("8.0;8.6", ERR), ("8.0+PTX", OK), ("9.0a", OK), ("Hopper", WARN)],
)
def test_torch_cuda_arch_list_against_an_h100(value, severity):
    f = finding(ArchListCoversGpus, evolve(H100, **{"env": {"TORCH_CUDA_ARCH_LIST": value}}))
    expected = {ERR: WARN}.get(severity, severity)  # the rule's failure is a warning; WARN here: unknown
    assert f.severity == expected
    if severity == ERR:
        assert 'export TORCH_CUDA_ARCH_LIST="9.0"' in text(f)
