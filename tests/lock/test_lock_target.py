"""Describing the target machine: GPU names and compute capabilities, and one clear line for every bad description."""

import pytest

from ftdoctor.errors import UsageError
from ftdoctor.lock.target import described, resolve_gpu
from ftdoctor.matrix import load_matrix

M = load_matrix()


def target(**kw):
    args = dict(gpu=None, driver=None, python="3.12", platform=None, cpu=False)
    args.update(kw)
    return described(M, **args)


@pytest.mark.parametrize("text, name, cc", [
    ("H100", "H100", "9.0"), ("nvidia h200", "H200", "9.0"), ("RTX 4090", "RTX 4090", "8.9"), ("sm_90", "sm_90", "9.0"),
    ("8.6", "sm_86", "8.6"), ("sm_120", "sm_120", "12.0"), ("compute_100", "sm_100", "10.0"),
])
def test_gpu_spellings(text, name, cc):
    gpu = resolve_gpu(M, text)
    assert (gpu.name, gpu.cc) == (name, cc)


def test_unknown_gpu_suggests_the_nearest():
    with pytest.raises(UsageError) as err:
        resolve_gpu(M, "H10O")
    assert "unknown GPU 'H10O'" in err.value.one_line() and "did you mean 'H100'?" in err.value.one_line()
    with pytest.raises(UsageError) as err:
        resolve_gpu(M, "RTX 4900")
    assert "did you mean 'RTX 4090'?" in err.value.one_line()


def test_nonexistent_compute_capability():
    with pytest.raises(UsageError, match="no NVIDIA GPU has compute capability 9.9"):
        resolve_gpu(M, "sm_99")


@pytest.mark.parametrize("kw, message", [
    (dict(gpu="H100", cpu=True), "--cpu and --gpu contradict each other"),
    (dict(), "no target machine"),
    (dict(gpu="H100"), "--gpu needs --driver"),
    (dict(cpu=True, driver="550.54.15"), "--driver was given with --cpu"),
    (dict(gpu="H100", driver="banana"), "is not a driver version"),
    (dict(gpu="H100", driver="12.4"), "is not an NVIDIA Linux driver version"),
    (dict(gpu="RTX 5090", driver="535.104.05"), "driver 535.104.05 cannot drive RTX 5090"),
    (dict(cpu=True, python="three"), "is not a Python 3 version"),
    (dict(cpu=True, python=None), "no Python version"),
    (dict(cpu=True, platform="win_amd64"), "not covered by ftdoctor's matrix"),
])
def test_bad_descriptions_are_one_line(kw, message):
    with pytest.raises(UsageError) as err:
        target(**kw)
    line = err.value.one_line()
    assert message in line and "\n" not in line


def test_driver_floor_is_the_first_driver_for_that_gpu():
    assert target(gpu="RTX 5090", driver="570.86.10").driver == "570.86.10"
    with pytest.raises(UsageError):
        target(gpu="RTX 5090", driver="570.86.09")


def test_description_text():
    assert target(gpu="L40S", driver="570.124.06", glibc="2.35").describe() == \
        "L40S (sm_89), driver 570.124.06, Python 3.12, linux_x86_64, glibc 2.35"
    assert target(cpu=True, python="cp311").describe() == "CPU only, Python 3.11, linux_x86_64"
