"""System facts (glibc, the libstdc++ in use and its highest GLIBCXX, containers, WSL) and the environment
variables kept as facts, with credentials redacted."""

from __future__ import annotations

import os

from ftdoctor.probes import env_vars, system
from ftdoctor.probes.host import Host


def test_glibc_and_the_libstdcxx_this_interpreter_loads():
    from ftdoctor.probes import python_env_child

    loaded = python_env_child.loaded_libstdcxx()
    facts = system.probe(Host(env=dict(os.environ)), loaded_libstdcxx=loaded)
    if os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
        assert facts.glibc_version == os.confstr("CS_GNU_LIBC_VERSION").split()[1]
    assert facts.libstdcxx_path == loaded
    assert facts.libstdcxx_source == "loaded by the diagnosed interpreter"
    assert facts.glibcxx_max and facts.glibcxx_max.startswith("3.4.")


def test_the_highest_glibcxx_compares_as_versions(tmp_path):
    lib = tmp_path / "usr/lib/x86_64-linux-gnu/libstdc++.so.6"
    lib.parent.mkdir(parents=True)
    lib.write_bytes(b"\x7fELF\x00GLIBCXX_3.4\x00GLIBCXX_3.4.9\x00GLIBCXX_3.4.30\x00GLIBCXX_3.4.29\x00CXXABI_1.3.13\x00")
    facts = system.probe(Host(root=tmp_path, env={}))
    assert facts.libstdcxx_path == str(lib)
    assert facts.libstdcxx_source == "search of LD_LIBRARY_PATH and the system library folders"
    assert facts.glibcxx_max == "3.4.30"  # as strings, "3.4.9" would win


def test_ld_library_path_comes_first_in_the_search(tmp_path):
    for folder, top in (("usr/lib/x86_64-linux-gnu", b"3.4.30"), ("opt/conda/lib", b"3.4.33")):
        lib = tmp_path / folder / "libstdc++.so.6"
        lib.parent.mkdir(parents=True)
        lib.write_bytes(b"\x00GLIBCXX_" + top + b"\x00")
    facts = system.probe(Host(root=tmp_path, env={"LD_LIBRARY_PATH": "/opt/conda/lib"}))
    assert facts.glibcxx_max == "3.4.33"


def test_container_hints(tmp_path):
    (tmp_path / ".dockerenv").write_text("")
    (tmp_path / "proc/1").mkdir(parents=True)
    (tmp_path / "proc/1/cgroup").write_text("12:pids:/kubepods/besteffort/pod1234/abcdef\n")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "APPTAINER_CONTAINER": "/img.sif", "container": "podman"}
    assert system.probe(Host(root=tmp_path, env=env)).container == ("docker", "kubernetes", "apptainer", "podman", "kubepods")


def test_unreadable_proc_files_give_no_hint_and_no_error(tmp_path):
    for name in ("proc/1/cgroup", "proc/meminfo", "proc/sys/kernel/osrelease", "etc/os-release"):
        (tmp_path / name).mkdir(parents=True)  # reading a directory fails with EISDIR
    facts = system.probe(Host(root=tmp_path, env={}))
    assert (facts.container, facts.memory_total_bytes, facts.distro, facts.wsl) == ((), None, None, False)


def test_environment_variables_that_matter_and_redaction():
    env = {
        "CUDA_VISIBLE_DEVICES": "0,1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID", "NCCL_P2P_DISABLE": "1",
        "TORCH_NCCL_BLOCKING_WAIT": "1", "TRITON_PTXAS_PATH": "/x/ptxas", "BNB_CUDA_VERSION": "122",
        "ACCELERATE_MIXED_PRECISION": "bf16", "LD_LIBRARY_PATH": "/usr/local/cuda/lib64",
        "HF_TOKEN": "hf_secret", "WANDB_API_KEY": "k", "HOME": "/home/u", "EDITOR": "vi",
        "NCCL_IB_AUTH_TOKEN": "s3cret", "TRITON_CACHE_DIR": "/tmp/t",
    }
    facts = env_vars.probe(Host(env=env))
    assert facts == {
        "ACCELERATE_MIXED_PRECISION": "bf16", "BNB_CUDA_VERSION": "122", "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        "CUDA_VISIBLE_DEVICES": "0,1", "LD_LIBRARY_PATH": "/usr/local/cuda/lib64", "NCCL_IB_AUTH_TOKEN": "<redacted>",
        "NCCL_P2P_DISABLE": "1", "TORCH_NCCL_BLOCKING_WAIT": "1", "TRITON_CACHE_DIR": "/tmp/t",
        "TRITON_PTXAS_PATH": "/x/ptxas",
    }
