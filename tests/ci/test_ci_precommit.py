"""The hooks of .pre-commit-hooks.yaml, run for real by pre-commit on a temporary git repository.

Offline (always): each hook's definition (entry, files, types, pass_filenames, args) is copied into a
`repo: local` config with language `unsupported`, so pre-commit runs it with ftdoctor from this environment;
the hook is installed as the repository's git hook and a `git commit` must pass or be refused.
Online (FTDOCTOR_NETWORK_TESTS=1): the repository itself is used as the hook source with language python, so
pre-commit builds its own environment from the package index, exactly as a user's does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ci_machines import gpu_without_driver, node, save

REPO = Path(__file__).resolve().parent.parent.parent
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
BAD_CONFIG = "base_model: ./tiny-model\nadapter: qlora\nload_in_4bit: false\nmicro_batch_size: 1\n"


def hook(hook_id: str) -> dict:
    return next(h for h in HOOKS if h["id"] == hook_id)


# The user's git configuration (a hooksPath, commit signing) must not change what the test sees.
ISOLATED_GIT = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **ISOLATED_GIT, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env, timeout=300)


def environment(tmp_path: Path) -> dict[str, str]:
    """pre-commit's cache in the test's folder; ftdoctor and pre-commit of this environment first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, **ISOLATED_GIT, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
    env.pop("FTDOCTOR_DEBUG", None)
    return env


def local_config(*hook_ids: str, **args: list[str]) -> str:
    hooks = []
    for hook_id in hook_ids:
        definition = {k: v for k, v in hook(hook_id).items() if k not in ("language", "minimum_pre_commit_version")}
        hooks.append({**definition, "language": "unsupported", **({"args": args[hook_id]} if hook_id in args else {})})
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}, sort_keys=False)


def new_repo(tmp_path: Path, config: str) -> Path:
    repo = tmp_path / "configs-repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(config)
    git(repo, "add", ".pre-commit-config.yaml")
    return repo


def pre_commit(repo: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=repo, capture_output=True, text=True,
        env=environment(tmp_path), timeout=600,
    )


def test_the_hooks_file_is_what_pre_commit_accepts():
    from pre_commit.clientlib import load_manifest

    manifest = load_manifest(str(REPO / ".pre-commit-hooks.yaml"))
    assert {h["id"] for h in manifest} == {"ftdoctor-train-dry-run", "ftdoctor-check-facts"}
    assert hook("ftdoctor-train-dry-run")["entry"] == "ftdoctor train --dry-run"
    assert all(h["language"] == "python" for h in manifest)  # installs ftdoctor-cli from this repository


def commit(repo: Path, tmp_path: Path, message: str) -> str:
    """`git commit` as a person types it, through the installed hook; returns its output, or raises if refused."""
    env = {**environment(tmp_path), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    done = subprocess.run(["git", "commit", "-qm", message], cwd=repo, capture_output=True, text=True, env=env, timeout=300)
    if done.returncode:
        raise AssertionError(done.stdout + done.stderr)
    return done.stdout + done.stderr


def test_facts_hook_blocks_a_commit_of_a_broken_machine(tmp_path):
    repo = new_repo(tmp_path, local_config("ftdoctor-check-facts"))
    install = pre_commit(repo, tmp_path, "install")
    assert install.returncode == 0, install.stderr
    save(node("node1"), repo / "node1.facts.json")
    (repo / "notes.json").write_text("{}")  # not a snapshot: the hook's files pattern leaves it alone
    git(repo, "add", ".")
    output = commit(repo, tmp_path, "good node")
    assert "ftdoctor check (saved machine facts)" in output and "Passed" in output

    save(gpu_without_driver(), repo / "fresh-box.facts.json")
    git(repo, "add", ".")
    with pytest.raises(AssertionError) as refused:
        commit(repo, tmp_path, "bad node")
    output = str(refused.value)
    assert "Failed" in output and "DRV100" in output
    assert "an NVIDIA GPU is present but no NVIDIA driver is loaded" in output
    assert len(git(repo, "log", "--oneline").stdout.splitlines()) == 1  # the bad commit was refused


def test_facts_hook_takes_args_and_several_files(tmp_path):
    repo = new_repo(tmp_path, local_config("ftdoctor-check-facts", **{"ftdoctor-check-facts": ["--fail-on", "error", "--no-compare"]}))
    save(node("node1"), repo / "a.facts.json")
    save(replace_driver(node("node2")), repo / "b.facts.json")
    git(repo, "add", ".")
    result = pre_commit(repo, tmp_path, "run", "--all-files")
    assert result.returncode == 0, result.stdout
    assert "Passed" in result.stdout


def replace_driver(facts):
    from dataclasses import replace

    from ftdoctor.facts.model import Resolved

    return replace(facts, driver=replace(facts.driver, driver_version=Resolved("580.82.07", "nvml")))


def test_facts_hook_reports_a_damaged_snapshot_in_one_line(tmp_path):
    repo = new_repo(tmp_path, local_config("ftdoctor-check-facts"))
    (repo / "cut.facts.json").write_text('{"schema": "ftdoctor-facts/1", "driver": {"gpus": [')
    git(repo, "add", ".")
    result = pre_commit(repo, tmp_path, "run", "--all-files")
    assert result.returncode != 0
    assert "cut.facts.json:1" in result.stdout and "not valid JSON" in result.stdout
    assert "Traceback" not in result.stdout


def test_train_hook_fails_a_broken_config(tmp_path):
    repo = new_repo(tmp_path, local_config("ftdoctor-train-dry-run", **{"ftdoctor-train-dry-run": ["--gpu", "H100"]}))
    (repo / "configs").mkdir()
    (repo / "configs" / "qlora.yml").write_text(BAD_CONFIG)
    (repo / "configs" / "other.yml").write_text(BAD_CONFIG)
    (repo / "notes.yml").write_text("not: a training config\n")  # outside configs/: not linted
    git(repo, "add", ".")
    result = pre_commit(repo, tmp_path, "run", "--all-files")
    assert result.returncode != 0, result.stdout
    assert "configs/qlora.yml" in result.stdout and "configs/other.yml" in result.stdout
    assert "notes.yml" not in result.stdout


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("FTDOCTOR_NETWORK_TESTS") != "1", reason="needs the package index: FTDOCTOR_NETWORK_TESTS=1")
def test_hooks_install_from_this_repository_like_a_users(tmp_path):
    """pre-commit clones this repository at HEAD and pip-installs it into its own environment."""
    source = tmp_path / "ftdoctor-src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", "__pycache__", ".git", "*.egg-info"))
    git(source, "init", "-q")
    git(source, "add", ".")
    git(source, "commit", "-qm", "snapshot")
    rev = git(source, "rev-parse", "HEAD").stdout.strip()
    config = {"repos": [{"repo": str(source), "rev": rev, "hooks": [{"id": "ftdoctor-check-facts"}]}]}
    repo = new_repo(tmp_path, yaml.safe_dump(config))
    save(gpu_without_driver(), repo / "fresh-box.facts.json")
    git(repo, "add", ".")
    env = {**environment(tmp_path), "PATH": os.environ["PATH"]}  # no ftdoctor of ours on PATH
    result = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"], cwd=repo,
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "DRV100" in result.stdout
