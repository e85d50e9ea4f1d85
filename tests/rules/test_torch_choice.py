"""The torch build chosen for a machine, and the compatibility predicates under it (with their boundaries)."""

import pytest
from packaging.version import Version
from rule_kit import MATRIX

from ftdoctor.matrix.compat import kernel_for
from ftdoctor.rules.torch_choice import MachineNeeds, choose, driver_full, driver_runs


def needs(ccs=((9, 0),), driver="580.95.05", cuda="13.0", python="3.11.9", glibc="2.35", windows=False):
    return MachineNeeds(gpu=bool(ccs), ccs=tuple(ccs), driver=Version(driver) if driver else None,
                        driver_cuda=Version(cuda) if cuda else None, windows=windows,
                        python=Version(python) if python else None, glibc=Version(glibc) if glibc else None,
                        integrated=frozenset({(8, 7)}))


def label(choice):
    return choice.label if choice else None


@pytest.mark.parametrize(
    "cc, sass, ptx, expected",
    [
        ((8, 9), ((8, 0), (8, 6)), (), "sass"),
        ((9, 0), ((8, 0), (8, 6)), (), None),
        ((9, 0), ((8, 0),), ((8, 0),), "ptx"),
        ((12, 0), ((9, 0),), ((9, 0),), "ptx"),
        ((7, 5), ((8, 0),), ((8, 0),), None),  # PTX only runs on equal or newer GPUs
        ((8, 7), ((8, 0),), (), None),  # integrated
    ],
)
def test_kernel_for(cc, sass, ptx, expected):
    assert kernel_for(cc, sass, ptx, frozenset({(8, 7)})) == expected


@pytest.mark.parametrize(
    "driver, cuda, build, runs",
    [("580.65.06", None, "13.0", True), ("580.65.05", None, "13.0", False), ("525.60.13", None, "12.9", True),
     ("450.80.02", None, "11.8", True), (None, "12.4", "12.8", True), (None, "12.4", "13.0", False), (None, None, "12.4", None)],
)
def test_driver_runs(driver, cuda, build, runs):
    assert driver_runs(MATRIX, needs(driver=driver, cuda=cuda), build) is runs


@pytest.mark.parametrize("cuda, build, full", [("12.8", "12.8", True), ("12.8", "12.9", False), ("13.0", "12.8", True)])
def test_driver_full(cuda, build, full):
    assert driver_full(MATRIX, needs(cuda=cuda), build) is full


def test_full_support_from_the_driver_version_when_its_cuda_is_unknown():
    assert driver_full(MATRIX, needs(driver="570.86.10", cuda=None), "12.8") is True
    assert driver_full(MATRIX, needs(driver="570.86.09", cuda=None), "12.8") is False


def test_same_release_first_with_the_drivers_own_major():
    assert label(choose(MATRIX, needs(ccs=((7, 5),), driver="535.104.05", cuda="12.2"), near="2.6.0")) == "torch 2.6.0+cu124"


def test_newest_fitting_without_an_anchor():
    assert label(choose(MATRIX, needs())) == "torch 2.15.0+cu130"


def test_closest_release_when_the_own_one_cannot_fit():
    # the own release 2.3 is excluded by the spec; 2.4 is the closest above it
    assert label(choose(MATRIX, needs(driver="550.127.05", cuda="12.4"), torch_spec=">=2.4", near="2.3.1")) == "torch 2.4.1+cu124"


def test_python_and_glibc_floors_limit_the_choice():
    assert label(choose(MATRIX, needs(python="3.10.12"))) == "torch 2.14.1+cu130"  # 2.15 needs Python 3.11
    assert label(choose(MATRIX, needs(ccs=((7, 0),), driver="535.216.01", cuda="12.2", glibc="2.17"))) == "torch 2.6.0+cu124"


def test_volta_gets_the_last_builds_with_sm70():
    assert label(choose(MATRIX, needs(ccs=((7, 0),)), near="2.11.0")) == "torch 2.11.0+cu126"


def test_no_gpu_gets_the_cpu_build():
    assert label(choose(MATRIX, needs(ccs=(), driver=None, cuda=None), near="2.13.0")) == "torch 2.13.0+cpu"


def test_nothing_fits_a_kepler_gpu_on_a_cuda_12_only_driver_window():
    assert choose(MATRIX, needs(ccs=((3, 5),), driver="450.80.02", cuda="11.0")) is None


def test_an_installed_version_that_is_no_version_anchors_nothing():
    # A torch whose metadata says "unknown" (a broken or hand-built install) must still get a build: the newest.
    assert label(choose(MATRIX, needs(), near="unknown")) == label(choose(MATRIX, needs()))
