"""SYS5xx: shadowed CUDA libraries, glibc and libstdc++ floors, shared memory, WSL."""

import pytest
from rule_kit import evolve, finding, machine, text

from ftdoctor.findings import Severity
from ftdoctor.rules.system import CudaLibrariesFromWheels, GlibcFloor, LibstdcxxFloor, SharedMemory, WslDriverLibraries

H100 = machine("h100-driver580-cu130")
SHADOW = machine("ld-library-path-shadow")
OLD = machine("centos7-old-glibc")
OK, ERR, WARN, INFO, SKIP = Severity.OK, Severity.ERROR, Severity.WARNING, Severity.INFO, Severity.SKIPPED


def test_libraries_from_the_wheels_pass():
    assert finding(CudaLibrariesFromWheels, H100).severity == OK


def test_ld_library_path_copy_shadowing_a_wheel_is_named_with_the_cleaned_path():
    f = finding(CudaLibrariesFromWheels, SHADOW)
    assert f.severity == WARN and "libcublasLt.so.12.4.5.8" in f.message and "nvidia-cublas-cu12" in f.message
    assert "export LD_LIBRARY_PATH=/usr/local/cuda-12.4/extras/CUPTI/lib64" in text(f)


def test_a_system_copy_without_ld_library_path_points_at_ld_preload():
    f = finding(CudaLibrariesFromWheels, evolve(SHADOW, **{"env": {}}))
    assert "LD_PRELOAD" in text(f)


def test_conda_libraries_without_pip_wheels_are_not_shadowing():
    dists = tuple(d for d in SHADOW.python.distributions if not d.name.startswith("nvidia-"))
    assert finding(CudaLibrariesFromWheels, evolve(SHADOW, **{"python.distributions": dists})).severity == OK


@pytest.mark.parametrize("glibc, severity", [("2.28", OK), ("2.27", ERR), ("2.17", ERR), ("2.39", OK)])
def test_glibc_floor_of_manylinux_2_28_torch(glibc, severity):
    facts = evolve(machine("rtx5090-cu126"), **{"system.glibc_version": glibc})
    assert finding(GlibcFloor, facts).severity == severity


def test_old_glibc_offers_the_newest_torch_for_it():
    f = finding(GlibcFloor, OLD)
    assert "torch 2.7.1 (manylinux_2_28_x86_64: glibc ≥ 2.28)" in f.message and "and 3 more" in f.message
    assert "torch==2.6.0+cu124" in text(f)


def test_manylinux1_torch_runs_on_old_glibc():
    assert finding(GlibcFloor, evolve(machine("a100-driver535-cu124"), **{"system.glibc_version": "2.17"})).severity == OK


def test_unknown_glibc_is_unknown_and_not_linux_is_skipped():
    assert finding(GlibcFloor, evolve(H100, **{"system.glibc_version": None})).message.startswith("unknown:")
    assert finding(GlibcFloor, evolve(H100, **{"system.os": "Darwin"})).severity == SKIP


def test_glibcxx_missing_at_import_is_an_error_with_the_ld_path_fix():
    f = finding(LibstdcxxFloor, machine("conda-old-libstdcxx"))
    assert f.severity == ERR and "GLIBCXX_3.4.22" in f.message
    assert "unset LD_LIBRARY_PATH" in text(f) and "libstdcxx-ng" in text(f)


@pytest.mark.parametrize("glibcxx, severity", [("3.4.24", OK), ("3.4.23", WARN), ("3.4.30", OK)])
def test_libstdcxx_against_manylinux_2_28_wheels(glibcxx, severity):
    facts = evolve(machine("rtx5090-cu126"), **{"system.glibcxx_max": glibcxx})
    assert finding(LibstdcxxFloor, facts).severity == severity


def test_wheels_already_failing_glibc_are_left_to_sys501():
    assert finding(LibstdcxxFloor, OLD).severity == OK


@pytest.mark.parametrize("mib, severity", [(64, WARN), (511, WARN), (512, OK), (16384, OK)])
def test_shared_memory_floor(mib, severity):
    assert finding(SharedMemory, evolve(H100, **{"system.shm_bytes": mib * 1024 * 1024})).severity == severity


def test_small_shm_in_docker_suggests_shm_size():
    assert "--shm-size=1g" in text(finding(SharedMemory, machine("container-no-userspace")))


def test_wsl_libcuda_passes_and_a_linux_driver_inside_wsl_fails():
    wsl = machine("wsl2-rtx3060")
    assert finding(WslDriverLibraries, wsl).severity == OK
    libs = tuple(lib.replace("/usr/lib/wsl/drivers/nvlti.inf_amd64_3d3d2b7a1c9d1f0e/libcuda.so.1.1",
                             "/usr/lib/x86_64-linux-gnu/libcuda.so.550.127.05") for lib in wsl.torch.loaded_libraries)
    f = finding(WslDriverLibraries, evolve(wsl, **{"torch.loaded_libraries": libs}))
    assert f.severity == ERR and "apt remove" in text(f)


def test_wsl_rule_skips_other_machines():
    assert finding(WslDriverLibraries, H100).severity == SKIP
