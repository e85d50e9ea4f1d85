"""`ftdoctor check --verify` options as a user meets them: bad combinations are one line, exit 3."""

import socket

import pytest


def test_verify_cannot_judge_a_snapshot(cli, tmp_path):
    saved = tmp_path / "box.json"
    assert cli("check", "--no-torch", "--save-facts", str(saved)).returncode in (0, 1, 2)
    result = cli("check", "--facts", str(saved), "--verify")
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "ftdoctor: error: --facts: --verify runs smoke tests on this machine; it cannot judge a saved snapshot"
        " — a snapshot saved with --verify --save-facts keeps its smoke results"]


def test_unknown_smoke_name(cli):
    result = cli("check", "--verify-only", "torch,flashattn")
    assert result.returncode == 3
    assert "unknown smoke test 'flashattn'" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_port_in_use_is_reported(cli):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = cli("check", "--verify-only", "distributed", "--json", env={"MASTER_PORT": str(port)})
    found = {f["code"]: f for f in result.json()["data"]["findings"]}
    assert found["NET104"]["severity"] == "error"
    assert f"the rendezvous port {port} (MASTER_PORT) is already in use" in found["NET104"]["message"]
    assert found["NET100"]["severity"] == "skipped"


@pytest.mark.slow
def test_the_launchers_default_port_in_use_is_a_warning(cli):
    """Without MASTER_PORT, torchrun/accelerate/deepspeed rendezvous on 29500: a stale run holding it is found,
    while the smoke test's own all-reduce (on a free port) still runs."""
    with socket.socket() as holder:
        try:
            holder.bind(("0.0.0.0", 29500))
        except OSError as exc:
            pytest.skip(f"port 29500 is held by something else on this machine: {exc}")
        holder.listen()
        result = cli("check", "--verify-only", "distributed", "--json", env={"MASTER_PORT": ""})
    found = {f["code"]: f for f in result.json()["data"]["findings"]}
    assert found["NET104"]["severity"] == "warning"
    assert "MASTER_PORT is not set and port 29500" in found["NET104"]["message"]
    assert found["NET104"]["evidence"]["launcher_port_busy"] == "Address already in use"
    assert found["NET100"]["severity"] == "ok"


@pytest.mark.slow
def test_saved_snapshot_keeps_the_smoke_results(cli, tmp_path):
    saved = tmp_path / "box.json"
    cli("check", "--no-torch", "--verify-only", "torch", "--save-facts", str(saved), "--json")
    result = cli("check", "--facts", str(saved), "--json", "-v")
    found = {f["code"]: f for f in result.json()["data"]["findings"]}
    assert found["TOR380"]["severity"] == "ok" and found["TOR380"]["message"].startswith("a 256x256 matmul is right on cpu")
