"""Smoke test for distributed training: WORLD local processes join one process group (NCCL when there is a
GPU for every rank, gloo otherwise) and all-reduce a tensor; the sum must be right.

Run without --rank it is the launcher: it imports nothing heavy, checks the rendezvous port, starts the
ranks as children of itself, and bounds them with its own timeout (shorter than the parent's), so that a
hang is reported with the rank and the stage where it hung.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the protocol beside this file, even under -I
import _protocol as protocol  # noqa: E402

ELEMENTS = 1024
LAUNCHER_PORT = 29500  # torchrun's --master-port, accelerate's --main_process_port, deepspeed's --master_port
NCCL_ENV = ("NCCL_P2P_DISABLE", "NCCL_IB_DISABLE", "NCCL_SOCKET_IFNAME", "NCCL_SHM_DISABLE", "NCCL_DEBUG")


def main():
    args = _parser().parse_args()
    if args.rank is not None:
        protocol.run(lambda: rank_main(args.rank, args.world_size, args.timeout))
    else:
        protocol.run(lambda: launch(args.world_size, args.timeout))


def _parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--world-size", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--rank", type=int)
    return parser


def launch(world, timeout):
    if protocol.installed("torch") is None:
        protocol.result("skipped", "torch is not installed")
        return
    port, source = _port()
    details = {"world_size": world, "port": port, "port_source": source, "nccl_env": {k: os.environ[k] for k in NCCL_ENV if k in os.environ}}
    protocol.stage(f"check that port {port} is free")
    busy = _port_busy(port)
    if busy:
        protocol.result("failed", f"the rendezvous port {port} ({source}) is already in use: {busy}", port_in_use=True, **details)
        return
    if source != "MASTER_PORT":
        # the smoke rendezvouses on a port it picked; a real run launched without one uses the launchers' default
        protocol.stage(f"check that the launchers' default port {LAUNCHER_PORT} is free")
        details.update(launcher_port=LAUNCHER_PORT, launcher_port_busy=_port_busy(LAUNCHER_PORT))
    protocol.stage(f"start {world} ranks")
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world)}
    ranks = [_start_rank(r, world, timeout, env) for r in range(world)]
    protocol.stage(f"wait for {world} ranks: init_process_group and all_reduce")
    details["ranks"] = _collect(ranks, time.monotonic() + timeout)
    _report(details)


def _port():
    if os.environ.get("MASTER_PORT", "").isdigit():
        return int(os.environ["MASTER_PORT"]), "MASTER_PORT"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1], "a free port"


def _port_busy(port):
    """Why `port` cannot be bound, or None. SO_REUSEADDR as torch's TCPStore sets it: only a listener counts,
    not a connection of an ended run still in TIME_WAIT."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _start_rank(rank, world, timeout, env):
    argv = [sys.executable, os.path.abspath(__file__), "--rank", str(rank), "--world-size", str(world), "--timeout", str(timeout)]
    rank_env = {**env, "RANK": str(rank), "LOCAL_RANK": str(rank)}
    return subprocess.Popen(argv, env=rank_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")


def _collect(ranks, deadline):
    out = []
    for rank, proc in enumerate(ranks):
        try:
            stdout, stderr = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            timed_out = False
        except subprocess.TimeoutExpired:
            for other in ranks:
                other.kill()
            stdout, stderr = proc.communicate()
            timed_out = True
        out.append(_rank_report(rank, proc.returncode, timed_out, stdout, stderr))
    return out


def _rank_report(rank, code, timed_out, stdout, stderr):
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"event"')]
    stages = [e["stage"] for e in events if e["event"] == "stage"]
    result = next((e for e in events if e["event"] == "result"), None)
    report = {"rank": rank, "returncode": code, "timed_out": timed_out, "stage": stages[-1] if stages else "",
              "stderr_tail": "\n".join(stderr.strip().splitlines()[-6:])}
    if result is not None:
        report.update(status=result["status"], reason=result["reason"], **result["details"])
    else:
        report.update(status="timeout" if timed_out else "crashed", reason=_how_it_ended(code, timed_out))
    return report


def _how_it_ended(code, timed_out):
    if timed_out:
        return "did not finish in time (killed)"
    if code is not None and code < 0:
        import signal

        return f"killed by {signal.Signals(-code).name}"
    return f"exited with status {code} without a result"


def _report(details):
    ranks = details["ranks"]
    first = ranks[0]
    details.update(backend=first.get("backend"), nccl_skipped=first.get("nccl_skipped"))
    bad = [r for r in ranks if r["status"] != "ok"]
    if not bad:
        protocol.result("ok", f"{len(ranks)} ranks all-reduced over {first['backend']} and got the right sum", **details)
        return
    # a rank that crashed or failed is the cause; the others then hang waiting for it
    worst = min(bad, key=lambda r: ("crashed", "failed", "timeout").index(r["status"]))
    where = f" in stage {worst['stage']!r}" if worst["stage"] else ""
    protocol.result("failed", f"rank {worst['rank']} {worst['reason']}{where}", **details)


def rank_main(rank, world, timeout):
    from datetime import timedelta

    protocol.stage("import torch")
    import torch
    import torch.distributed as dist

    backend, nccl_skipped = _backend(torch, dist, world)
    device = f"cuda:{rank}" if backend == "nccl" else "cpu"
    if backend == "nccl":
        torch.cuda.set_device(rank)
    protocol.stage(f"init_process_group({backend})")
    dist.init_process_group(backend, rank=rank, world_size=world, timeout=timedelta(seconds=timeout))
    try:
        protocol.stage("all_reduce")
        tensor = torch.full((ELEMENTS,), float(rank + 1), device=device)
        dist.all_reduce(tensor)
        expected = world * (world + 1) / 2
        got = tensor.cpu()
        right = bool(torch.all(got == expected))
    finally:
        dist.destroy_process_group()
    details = {"backend": backend, "nccl_skipped": nccl_skipped, "device": device, "expected": expected, "got": got[0].item()}
    if right:
        protocol.result("ok", "", **details)
    else:
        protocol.result("failed", f"all_reduce gave {got[0].item()}, expected {expected}", **details)


def _backend(torch, dist, world):
    """NCCL when every rank gets its own GPU; otherwise gloo, with the reason NCCL was not tried."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus == 0:
        return "gloo", "no CUDA device"
    if not dist.is_nccl_available():
        return "gloo", "this torch build has no NCCL"
    if gpus < world:
        return "gloo", f"{gpus} GPU(s) for {world} ranks: NCCL needs one GPU per rank"
    return "nccl", None


if __name__ == "__main__":
    main()
