"""The README's recipes for collecting one snapshot per node (srun, mpirun, a Kubernetes Job), run as written:
the per-node command each launcher would start, on this machine under two host names, then the fleet judged
from the folder; the Job's manifest parsed, and its pod log (stdout and stderr together, as `kubectl logs`
shows them) read back as a snapshot."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent  # ftdoctor's entry point of this environment

pytestmark = pytest.mark.slow


def fleet_section() -> str:
    return README.split("## Across a fleet", 1)[1].split("\n## ", 1)[0]


def node_command(launcher: str) -> str:
    """The quoted per-node command of the launcher's code block (`LAUNCHER ... sh -c 'COMMAND'`)."""
    block = next(b for b in re.findall(r"```bash\n(.*?)```", fleet_section(), re.S) if re.search(rf"^{launcher} ", b, re.M))
    joined = block.replace("\\\n", " ")
    words = shlex.split(next(line for line in joined.splitlines() if line.startswith(launcher)))
    return words[words.index("-c") + 1]


def shim(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def run_on_nodes(tmp_path: Path, command: str, hosts: list[str]) -> None:
    """What the launcher does: the same command on every node, each with its own host name."""
    shims = tmp_path / "shims"
    shims.mkdir(exist_ok=True)
    shim(shims, "hostname", 'echo "$FAKE_HOST"\n')
    (tmp_path / "facts").mkdir(exist_ok=True)
    command = command.replace("/opt/train/bin/python", sys.executable)  # the interpreter training uses
    for host in hosts:
        env = {**os.environ, "FAKE_HOST": host, "PATH": f"{shims}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}"}
        env.pop("FTDOCTOR_DEBUG", None)
        proc = subprocess.run(["sh", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr  # `; true`: a node with findings does not fail the launcher


def judge_folder(cli, tmp_path: Path, hosts: list[str]) -> None:
    result = cli("check", "--facts-dir", str(tmp_path / "facts"), "--json", cwd=tmp_path, timeout=300)
    assert result.returncode in (0, 1, 2), result.stderr
    machines = result.json()["data"]["machines"]
    assert [m["name"] for m in machines] == [*sorted(hosts), f"all {len(hosts)} machines compared"]  # --label "$(hostname)"
    compared = machines[-1]["findings"]
    assert compared and {f["severity"] for f in compared} <= {"ok", "skipped"}  # one box twice: nothing differs


@pytest.mark.parametrize("launcher", ["srun", "mpirun"])
def test_launcher_recipe_collects_one_snapshot_per_node(cli, tmp_path, launcher):
    hosts = ["gpu-node-1", "gpu-node-2"]
    run_on_nodes(tmp_path, node_command(launcher), hosts)
    assert sorted(p.name for p in (tmp_path / "facts").iterdir()) == [f"{h}.json" for h in hosts]
    judge_folder(cli, tmp_path, hosts)


def kubernetes_job() -> dict:
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", fleet_section(), re.S) if "kind: Job" in b)
    return yaml.safe_load(block)


def test_kubernetes_job_is_an_indexed_job_spread_one_pod_per_node():
    job = kubernetes_job()
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"]
    assert pod["restartPolicy"] == "Never"
    spread = pod["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname" and spread["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["labelSelector"]["matchLabels"] == job["spec"]["template"]["metadata"]["labels"]
    assert "nvidia.com/gpu" in pod["containers"][0]["resources"]["limits"]


def test_kubernetes_pod_log_is_the_snapshot_alone(cli, tmp_path):
    """The pod's command with its throwaway venv stood in for (no index here): a pip that talks on both streams
    must not get into the log, which is saved as the node's facts file and judged."""
    container = kubernetes_job()["spec"]["template"]["spec"]["containers"][0]
    command = container["args"][0]
    venv = tmp_path / "ftd"
    (venv / "bin").mkdir(parents=True)
    shim(venv / "bin", "pip", 'echo "Collecting ftdoctor-cli"; echo "[notice] A new release of pip is available" >&2\n')
    (venv / "bin" / "ftdoctor").symlink_to(BIN / "ftdoctor")
    command = command.replace("python3 -m venv /tmp/ftd", "true").replace("/tmp/ftd", str(venv))
    command = command.replace("/tmp/facts.json", str(tmp_path / "pod-facts.json"))
    env = {**os.environ, "NODE_NAME": "gpu-node-7", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("FTDOCTOR_DEBUG", None)
    proc = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr  # kubectl logs: both streams
    assert json.loads(log)["label"] == "gpu-node-7"
    (tmp_path / "facts").mkdir()
    (tmp_path / "facts" / "ftdoctor-facts-0.json").write_text(log)
    result = cli("check", "--facts-dir", str(tmp_path / "facts"), "--json", timeout=300)
    assert result.returncode in (0, 1, 2), result.stderr
    data = result.json()["data"]
    assert data["facts_source"].endswith("ftdoctor-facts-0.json") and data["findings"]  # judged, not refused
