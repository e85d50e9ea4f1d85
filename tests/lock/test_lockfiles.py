"""lockfiles/: one lockfile per tested target, regenerated from the matrix (and the recorded resolutions) in CI;
any difference from the committed files is drift and fails. The opt-in network test asks pip's resolver to
install each one for its target's platform and Python against the real index."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ftdoctor.lock.lockfiles import load_targets, regenerate
from ftdoctor.lock.resolution import platform_args
from ftdoctor.lock.target import described
from ftdoctor.matrix import load_matrix

LOCKFILES = Path(__file__).resolve().parents[2] / "lockfiles"
REQUIRED = {"h100-h200", "a100", "l4-l40s", "rtx4090", "rtx5090", "t4", "v100", "cpu"}


def test_every_tested_target_has_a_lockfile_at_a_current_python():
    targets = load_targets(LOCKFILES).targets
    assert {t.name for t in targets} == REQUIRED
    assert all(t.python in ("3.12", "3.13") for t in targets)
    assert {p.stem for p in LOCKFILES.glob("*.txt")} == REQUIRED


def test_lockfiles_have_not_drifted():
    outcomes = regenerate(load_matrix(), LOCKFILES)
    stale = [o.name for o in outcomes if o.path.read_text(encoding="utf-8") != o.text]
    assert not stale, f"lockfiles drifted from the matrix: {stale}; run scripts/lockfiles (or scripts/lockfiles --refresh)"
    assert not [o.name for o in outcomes if o.stale_resolution], "a recorded resolution no longer matches its pins: scripts/lockfiles --refresh"


def test_gpu_lockfiles_are_fully_hashed():
    for path in LOCKFILES.glob("*.txt"):
        text = path.read_text(encoding="utf-8")
        if path.stem == "cpu":
            continue  # its torch comes from PyTorch's cpu index, which the recording machine could not reach
        pins = [line for line in text.splitlines() if line and not line.startswith(("#", " ", "--"))]
        assert pins and all(line.endswith("\\") for line in pins), path.name
        assert "torch==" in text and "--hash=sha256:" in text


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("FTDOCTOR_NETWORK_TESTS") != "1", reason="opt-in: FTDOCTOR_NETWORK_TESTS=1 asks the real index")
@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_lockfile_installs_for_its_target(name):
    """pip's resolver, in a dry run for the target's platform and Python, accepts the lockfile: every pinned file
    exists for that platform, with the recorded hash (hash-checking mode), and nothing else is needed."""
    m = load_matrix()
    tested = next(t for t in load_targets(LOCKFILES).targets if t.name == name)
    target = described(m, gpu=tested.gpu or None, driver=tested.driver or None, python=tested.python, platform=None,
                       cpu=tested.cpu, glibc=tested.glibc or None)
    path = LOCKFILES / f"{name}.txt"
    hashed = "--hash=" in path.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        # sdists (DeepSpeed) cannot be resolved for another platform without building; --no-deps checks each
        # pinned file alone, which is enough for a complete, hashed lockfile
        mode = ["--no-deps"] if hashed else ["--only-binary=:all:"]
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if hashed or not ln.startswith("deepspeed==")]
        req = Path(tmp, "req.txt")
        req.write_text("\n".join(lines) + "\n")
        command = [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed", "--quiet",
                   "--target", str(Path(tmp, "t")), "--use-feature=fast-deps", *mode, *platform_args(target), "-r", str(req)]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
