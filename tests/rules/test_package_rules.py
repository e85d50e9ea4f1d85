"""PKG6xx: requirements among the installed stack, and the bounds pip cannot see (from compat_matrix/hf_stack.toml)."""

from dataclasses import replace

import pytest
from rule_kit import evolve, finding, machine, text

from ftdoctor.facts.model import Distribution, PythonEnvFacts, RequirementViolation
from ftdoctor.findings import Severity
from ftdoctor.rules.packages import (
    Duplicates, OtherRequirements, PickleCheckpoints, PythonFloors, StackRequirements, TrainerAccelerate,
    TransformersTorchFloor,
)

H100 = machine("h100-driver580-cu130")
A100 = machine("a100-driver535-cu124")
OK, ERR, WARN, INFO, SKIP = Severity.OK, Severity.ERROR, Severity.WARNING, Severity.INFO, Severity.SKIPPED


def with_versions(facts, **versions):
    dists = tuple(replace(d, version=versions.get(d.name.replace("-", "_"), d.version)) for d in facts.python.distributions)
    return evolve(facts, **{"python.distributions": dists})


def with_torch(facts, version):
    return evolve(with_versions(facts, torch=version), **{"torch.version": version})


def test_stack_violations_are_errors_with_one_install_command():
    f = finding(StackRequirements, machine("dgx-misconfigured"))
    assert f.severity == ERR and "trl needs transformers >=4.51.0 but 4.46.3 is installed" in f.message
    assert '-m pip install "accelerate>=1.4.0" "transformers>=4.51.0"' in text(f)


def test_a_torch_requirement_is_fixed_with_a_build_for_this_machine():
    facts = evolve(H100, **{"python.violations": (RequirementViolation("accelerate", "torch>=2.10.0", "2.9.1+cu130"),)})
    assert "torch==2.10.0+cu130 --index-url" in text(finding(StackRequirements, facts))


def test_a_violated_upper_cap_also_offers_upgrading_the_capping_package():
    facts = evolve(H100, **{"python.violations": (RequirementViolation("trl", "transformers<4.47.0", "5.5.4"),)})
    assert "--upgrade trl" in text(finding(StackRequirements, facts))


def test_other_violations_are_warnings():
    facts = evolve(H100, **{"python.violations": (RequirementViolation("rich", "pygments>=2.13", "2.10.0"),)})
    assert finding(OtherRequirements, facts).severity == WARN
    assert finding(StackRequirements, facts).severity == OK


def test_unknown_package_list_is_unknown():
    facts = evolve(H100, **{"python": PythonEnvFacts(reason="timed out")})
    assert finding(StackRequirements, facts).message.startswith("unknown:")


@pytest.mark.parametrize(
    "transformers, torch, severity",
    [
        ("5.2.0", "2.4.0", OK),  # exactly the 5.1-5.14 floor
        ("5.2.0", "2.3.1+cu121", ERR),
        ("5.14.1", "2.3.1", ERR),
        ("5.15.0", "2.4.1", ERR),  # 5.15 raised the floor to 2.5
        ("5.20.0", "2.5.1", ERR),
        ("5.20.0", "2.6.0+cu124", OK),  # a local label does not count
        ("5.20.0", "2.6.0a0+ecf3bae40a.nv25.01", ERR),  # a pre-release is below 2.6, as transformers compares
        ("4.57.6", "2.0.1", ERR),
        ("4.52.4", "2.7.1", WARN),  # 4.52's extra declares torch<2.7; nothing enforces it
        ("4.46.3", "1.13.1", SKIP),  # no row: the matrix does not know
    ],
)
def test_transformers_torch_floor_boundaries(transformers, torch, severity):
    facts = with_torch(with_versions(A100, transformers=transformers), torch)
    assert finding(TransformersTorchFloor, facts).severity == severity


def test_the_floor_fix_offers_the_closest_torch_and_the_older_transformers():
    f = finding(TransformersTorchFloor, machine("rtx4090-cu121"))
    assert "Disabling PyTorch" in f.message
    assert "torch==2.4.1+cu124" in text(f) and '"transformers<5.1"' in text(f)


@pytest.mark.parametrize(
    "transformers, accelerate, severity",
    [("5.2.0", "1.1.0", OK), ("5.2.0", "1.0.1", ERR), ("4.57.6", "0.26.0", OK), ("4.57.6", "0.25.0", ERR)],
)
def test_trainer_accelerate_floor(transformers, accelerate, severity):
    facts = with_versions(A100, transformers=transformers, accelerate=accelerate)
    facts = evolve(facts, **{"python.violations": ()})
    assert finding(TrainerAccelerate, facts).severity == severity


def test_missing_accelerate_breaks_the_trainer():
    dists = tuple(d for d in A100.python.distributions if d.name != "accelerate")
    f = finding(TrainerAccelerate, evolve(A100, **{"python.distributions": dists, "python.violations": ()}))
    assert f.severity == ERR and "not installed" in f.message and '"accelerate>=0.26.0"' in text(f)


def test_accelerate_already_reported_by_pkg600_is_not_reported_twice():
    assert finding(TrainerAccelerate, machine("dgx-misconfigured")).severity == SKIP


@pytest.mark.parametrize(
    "transformers, torch, severity",
    [("4.52.0", "2.5.1", WARN), ("4.51.3", "2.5.1", OK), ("4.57.6", "2.6.0", OK), ("5.23.0", "2.5.1", WARN)],
)
def test_pickle_checkpoint_guard(transformers, torch, severity):
    facts = with_torch(with_versions(A100, transformers=transformers), torch)
    assert finding(PickleCheckpoints, facts).severity == severity


def test_pickle_guard_fix_keeps_the_cuda_variant():
    f = finding(PickleCheckpoints, A100)
    assert "torch==2.6.0+cu124" in text(f) and "safetensors" in text(f)


@pytest.mark.parametrize(
    "python, trl, severity", [("3.10.12", "1.14.2", OK), ("3.10.12", "1.15.0", ERR), ("3.11.0", "1.15.0", OK)],
)
def test_python_floors(python, trl, severity):
    facts = evolve(with_versions(H100, trl=trl), **{"python.version": python})
    assert finding(PythonFloors, evolve(facts, **{"torch.version": "2.9.1"})).severity == severity


def test_python_floor_of_torch_itself():
    facts = evolve(with_torch(H100, "2.15.0"), **{"python.version": "3.10.14"})
    f = finding(PythonFloors, facts)
    assert f.severity == ERR and "torch 2.15.0 (Python >=3.11)" in f.message
    assert "torch==2.14.1+cu130" in text(f)


def test_duplicates_warn_and_reinstall_the_same_version():
    facts = evolve(H100, **{"python.duplicates": ("transformers",)})
    f = finding(Duplicates, facts)
    assert f.severity == WARN and "transformers==5.5.4" in text(f)
    assert finding(Duplicates, H100).severity == OK


def test_new_distribution_objects_load():
    assert Distribution("x", "1").requires == ()
