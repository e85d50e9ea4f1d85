"""CEN and MEM rules: the same config judged for different machines."""

from __future__ import annotations

import pytest

from ftdoctor.findings import Severity
from ftdoctor.trainer.target import from_facts
from preflight_helpers import STACK, codes, cpu_target, facts_machine, gpu_target, one, run_preflight

HEAD = ("base_model: ./model\nmicro_batch_size: 2\ngradient_accumulation_steps: 2\nlearning_rate: 0.0002\n"
        "datasets:\n  - path: data/chat.jsonl\n    type: chat_template\n")


def judge(tiny_project, extra: str, target):
    path = tiny_project / "config.yml"
    path.write_text(HEAD + extra.strip() + "\n", encoding="utf-8")
    return run_preflight(path, target)


T4 = dict(name="T4", cc="7.5", gib=16)
RTX4090 = dict(name="RTX 4090", cc="8.9", gib=24)


@pytest.mark.parametrize("extra, gpu, code, line", [
    ("bf16: true", T4, "CEN801", 8),
    ("tf32: true", T4, "CEN802", 8),
    ("fp8: true", dict(name="A100", cc="8.0", gib=80), "CEN803", 8),
    ("attn_implementation: flash_attention_2", T4, "CEN806", 8),
    ("attn_implementation: flash_attention_3", RTX4090, "CEN806", 8),
    ("attn_implementation: sage", T4, "CEN814", 8),
    ("attn_implementation: fp8", dict(name="A100", cc="8.0", gib=80), "CEN814", 8),
])
def test_gpu_generation(tiny_project, extra, gpu, code, line):
    _, findings = judge(tiny_project, extra, gpu_target(**gpu))
    finding = one(findings, code)
    assert finding.severity == Severity.ERROR and finding.location.endswith(f":{line}")


def test_bf16_auto_on_an_old_gpu_is_explained(tiny_project):
    pre, findings = judge(tiny_project, "bf16: auto", gpu_target(**T4))
    assert pre.plan.precision == "fp16" and "fp16" in one(findings, "CEN801").message


def test_flash_attention_missing_broken_and_the_silent_hub_fallback(tiny_project):
    extra = "attn_implementation: flash_attention_2"
    _, missing = judge(tiny_project, extra, gpu_target())
    assert one(missing, "CEN806").severity == Severity.ERROR
    _, fallback = judge(tiny_project, extra, gpu_target(packages={**STACK, "kernels": "0.11.1"}))
    finding = one(fallback, "CEN806")
    assert finding.severity == Severity.WARNING and "silently fetch" in finding.message
    _, old = judge(tiny_project, extra, gpu_target(packages={**STACK, "flash-attn": "2.3.2"}))
    assert "older than 2.3.3" in one(old, "CEN806").message
    wheel = "2.7.4.post1+cu12torch2.4cxx11abifalse"
    _, mismatched = judge(tiny_project, extra, gpu_target(packages={**STACK, "flash-attn": wheel}))
    assert "built for torch 2.4" in one(mismatched, "CEN806").message
    _, good = judge(tiny_project, extra, gpu_target(packages={**STACK, "flash-attn": "2.8.3"}))
    assert "CEN806" not in codes(good)


def test_flash_attention_that_cannot_be_imported_on_a_real_machine(tiny_project):
    """A snapshot (or this machine) knows more than the version: the ELF scan of flash-attn's extension and,
    after `check --verify`, its smoke test. A described machine has neither, so the same install passes there."""
    from dataclasses import replace

    from ftdoctor.facts.model import (AbiFacts, Distribution, ExtensionAbi, NeededLibrary, SmokeResult,
                                      SmokeStatus, Status, VerifyFacts)

    base = facts_machine(1, "2.26.2")
    base = replace(base, python=replace(base.python, distributions=base.python.distributions + (
        Distribution(name="flash-attn", version="2.8.3"),)))
    so = "/venv/lib/python3.11/site-packages/flash_attn_2_cuda.cpython-311-x86_64-linux-gnu.so"
    stale = ExtensionAbi(path=so, package="flash_attn_2_cuda", links_torch=True, missing_torch_symbols=(
        "_ZN3c104cuda9SetDeviceEi",), missing_torch_symbol_count=3)
    other_cuda = ExtensionAbi(path=so, package="flash_attn_2_cuda", links_torch=True, needed=(
        NeededLibrary("libcudart.so.11.0"), NeededLibrary("libc10.so", "/venv/torch/lib/libc10.so")))
    fine = ExtensionAbi(path=so, package="flash_attn_2_cuda", links_torch=True)
    extra = "attn_implementation: flash_attention_2"

    def judged(facts):
        path = tiny_project / "config.yml"
        path.write_text(HEAD + extra + "\n", encoding="utf-8")
        return run_preflight(path, from_facts(facts, "facts"), facts)[1]

    symbols = one(judged(replace(base, abi=AbiFacts(status=Status.OK, extensions=(stale,)))), "CEN806")
    assert symbols.severity == Severity.ERROR and "3 torch symbol(s)" in symbols.message
    assert "_ZN3c104cuda9SetDeviceEi" in symbols.message and symbols.location.endswith(":8")
    library = one(judged(replace(base, abi=AbiFacts(status=Status.OK, extensions=(other_cuda,)))), "CEN806")
    assert "links libcudart.so.11.0" in library.message and "libc10" not in library.message
    smoke = SmokeResult("flash-attn", SmokeStatus.FAILED, reason="ImportError: undefined symbol")
    verified = replace(base, abi=AbiFacts(status=Status.OK, extensions=(fine,)),
                       verify=VerifyFacts(status=Status.OK, smokes=(smoke,)))
    assert "smoke test failed: ImportError: undefined symbol" in one(judged(verified), "CEN806").message
    assert "CEN806" not in codes(judged(replace(base, abi=AbiFacts(status=Status.OK, extensions=(fine,)))))
    _, described = judge(tiny_project, extra, gpu_target(packages={**STACK, "flash-attn": "2.8.3"}))
    assert "CEN806" not in codes(described)


def test_what_check_knows_about_the_installed_builds_reaches_the_preflight(tiny_project):
    """On a snapshot, `ftdoctor check`'s metadata rules judge the installed bitsandbytes and flash-attn builds
    against this torch: a release without a library for torch's CUDA, a flash-attn wheel built for another
    torch. A described machine has no such facts; its preflight stays silent about them."""
    from dataclasses import replace

    from ftdoctor.facts.model import Distribution, SmokeResult, SmokeStatus, Status, VerifyFacts

    def machine(**versions):
        facts = facts_machine(1, "2.26.2")
        kept = tuple(d for d in facts.python.distributions if d.name not in versions)
        added = tuple(Distribution(name=n, version=v.split("@")[0], direct_url=(v.split("@") + [None])[1])
                      for n, v in versions.items())
        python = replace(facts.python, version="3.11.9", distributions=kept + added)
        return replace(facts, python=python, torch=replace(facts.torch, cxx11_abi=True))

    def judged(extra, facts):
        path = tiny_project / "config.yml"
        path.write_text(HEAD + extra + "\n", encoding="utf-8")
        return run_preflight(path, from_facts(facts, "facts"), facts)[1]

    qlora = "adapter: qlora\nload_in_4bit: true\nlora_target_linear: true"
    old_bnb = one(judged(qlora, machine(bitsandbytes="0.45.0")), "CEN807")
    assert old_bnb.severity == Severity.ERROR and old_bnb.location.endswith(":9")
    assert "ships no library for torch's CUDA 12.8" in old_bnb.message
    assert "(BNB801 in `ftdoctor check`)" in old_bnb.message
    assert old_bnb.fixes and "bitsandbytes==" in old_bnb.fixes[-1].commands[0]
    assert "CEN807" not in codes(judged(qlora, machine(bitsandbytes="0.50.2")))
    smoke = SmokeResult("bitsandbytes-4bit", SmokeStatus.CRASHED, reason="SIGSEGV in the 4-bit matmul")
    verified = replace(machine(bitsandbytes="0.50.2"), verify=VerifyFacts(status=Status.OK, smokes=(smoke,)))
    assert "4-bit smoke test crashed on this machine: SIGSEGV" in one(judged(qlora, verified), "CEN807").message

    wheel = "https://github.com/Dao-AILab/flash-attention/releases/download/v2.8.3/" \
            "flash_attn-2.8.3+cu12torch2.4cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    fa = one(judged("attn_implementation: flash_attention_2", machine(**{"flash-attn": f"2.8.3@{wheel}"})), "CEN806")
    assert fa.severity == Severity.ERROR and "was built for another torch" in fa.message and "FLA702" in fa.message
    _, described = judge(tiny_project, qlora, gpu_target(packages={**STACK, "bitsandbytes": "0.45.0"}))
    assert "CEN807" not in codes(described)


def test_attention_kernels_and_fp8_need_their_packages(tiny_project):
    _, sage = judge(tiny_project, "attn_implementation: sage", gpu_target(name="A100", cc="8.0", gib=80))
    assert "needs sageattention, which is not installed" in one(sage, "CEN814").message
    _, installed = judge(tiny_project, "attn_implementation: sage", gpu_target(
        name="A100", cc="8.0", gib=80, packages={**STACK, "sageattention": "2.2.0"}))
    assert "CEN814" not in codes(installed)
    _, legacy = judge(tiny_project, "xformers_attention: true", gpu_target())
    assert one(legacy, "CEN814").location.endswith(":8") and "needs xformers" in one(legacy, "CEN814").message
    _, old_torch = judge(tiny_project, "attn_implementation: fp8", gpu_target(
        packages={**STACK, "torch": "2.10.0", "torchao": "0.17.0"}))
    assert "needs torch>=2.11.0" in one(old_torch, "CEN812").message and "CEN814" not in codes(old_torch)
    _, fp8 = judge(tiny_project, "fp8: true", gpu_target())
    assert "none of torchao, transformer-engine or ms-amp" in one(fp8, "CEN803").message
    _, fp8_ok = judge(tiny_project, "fp8: true", gpu_target(packages={**STACK, "torchao": "0.17.0"}))
    assert "CEN803" not in codes(fp8_ok)


def test_bitsandbytes_floors_on_a_described_gpu(tiny_project):
    v100 = dict(name="V100", cc="7.0", gib=32)
    _, int8 = judge(tiny_project, "adapter: lora\nload_in_8bit: true\nlora_target_linear: true", gpu_target(**v100))
    finding = one(int8, "CEN807")
    assert finding.severity == Severity.ERROR and "needs compute capability 7.5" in finding.message
    _, nf4 = judge(tiny_project, "adapter: qlora\nload_in_4bit: true\nlora_target_linear: true", gpu_target(**v100))
    assert "CEN807" not in codes(nf4)


def test_bitsandbytes(tiny_project):
    extra = "adapter: qlora\nload_in_4bit: true\nlora_target_linear: true"
    _, missing = judge(tiny_project, extra, gpu_target(packages={k: v for k, v in STACK.items() if k != "bitsandbytes"}))
    assert one(missing, "CEN807").location.endswith(":9")
    _, old_cpu = judge(tiny_project, extra, cpu_target(packages={**STACK, "bitsandbytes": "0.44.1"}))
    assert one(old_cpu, "CEN807").severity == Severity.WARNING
    _, cpu = judge(tiny_project, extra, cpu_target())
    assert one(cpu, "CEN807").severity == Severity.INFO


def test_sharding_needs_processes_and_fsdp_on_cpu_is_ddp(tiny_project):
    (tiny_project / "ds.json").write_text('{"zero_optimization": {"stage": 2}}')
    _, one_gpu = judge(tiny_project, "deepspeed: ds.json", gpu_target())
    assert one(one_gpu, "CEN809").severity == Severity.WARNING
    _, cpu = judge(tiny_project, "fsdp_version: 2\nfsdp_config:\n  reshard_after_forward: true", cpu_target())
    finding = one(cpu, "CEN809")
    assert finding.severity == Severity.ERROR and "silently fall back to DDP" in finding.message
    _, ds_cpu = judge(tiny_project, "deepspeed: ds.json", cpu_target())
    assert "starts ONE process" in one(ds_cpu, "CEN809").message
    _, missing = judge(tiny_project, "deepspeed: ds.json", gpu_target(count=2, packages={
        k: v for k, v in STACK.items() if k != "deepspeed"}))
    assert one(missing, "CEN808").severity == Severity.ERROR


def test_a_saved_snapshot_without_nccl_or_with_a_cpu_torch(tiny_project):
    _, no_nccl = judge(tiny_project, "", from_facts(facts_machine(4, None), "facts"))
    assert one(no_nccl, "CEN810").severity == Severity.ERROR
    _, cpu_torch = judge(tiny_project, "", from_facts(facts_machine(1, None, torch_cuda=None), "facts"))
    assert "CPU-only build" in one(cpu_torch, "CEN805").message
    _, fine = judge(tiny_project, "", from_facts(facts_machine(4, "2.26.2"), "facts"))
    assert not {"CEN805", "CEN810"} & codes(fine)


def test_feature_needs_a_newer_library(tiny_project):
    _, findings = judge(tiny_project, "rl: grpo\ntrl:\n  reward_funcs: [m.f]\n  num_generations: 2",
                        gpu_target(packages={**STACK, "trl": "0.13.0"}))
    finding = next(f for f in findings if f.code == "CEN812")
    assert "trl>=0.14.0" in finding.message and finding.location.endswith(":8")


def test_cpu_only_machine(tiny_project):
    _, findings = judge(tiny_project, "", cpu_target())
    assert one(findings, "CEN804").severity == Severity.WARNING


def test_training_stack_missing(tiny_project):
    _, findings = judge(tiny_project, "", gpu_target(packages={"torch": "2.13.0"}))
    assert "trl" in one(findings, "CEN813").message


def test_memory_does_not_fit_and_says_what_would(tiny_project):
    pre, findings = judge(tiny_project, "sequence_len: 4096\nmicro_batch_size: 64", gpu_target(name="T4", cc="7.5",
                                                                                            gib=1))
    finding = one(findings, "MEM701")
    assert finding.severity == Severity.ERROR and finding.fixes
    assert all("about" in fix.summary for fix in finding.fixes)
    assert finding.location.endswith(":9")  # the micro_batch_size that was set last


def test_several_gpus_without_sharding_are_ddp_replicas(tiny_project):
    _, findings = judge(tiny_project, "", gpu_target(count=4, visible_devices="0,1,2,3"))
    finding = one(findings, "CEN809")
    assert finding.severity == Severity.INFO and "4 DDP processes" in finding.message
    assert "CUDA_VISIBLE_DEVICES=0,1,2,3" in finding.message
