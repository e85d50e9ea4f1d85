"""The recipe trains for real on the CPU, in this process (the multi-process and CLI tests spawn launches).

Each test builds the Job the way the launcher does and runs setup → train → cleanup on the tiny Llama."""

from __future__ import annotations

import json

import pytest

from training_helpers import PAIRS, SFT, losses, make_job

pytestmark = pytest.mark.slow


def run_recipe(config, **job_changes):
    from dataclasses import replace

    from ftdoctor.trainer.recipe.recipe import FineTuneRecipe

    recipe = FineTuneRecipe(replace(make_job(config), **job_changes))
    recipe.setup()
    recipe.train()
    recipe.cleanup()
    return recipe


def test_sft_lora_loss_falls_and_only_assistant_tokens_carry_loss(project):
    from ftdoctor.trainer import tiny
    from ftdoctor.trainer.recipe.recipe import FineTuneRecipe

    config = project(SFT, save_steps=10, save_total_limit=2)
    recipe = FineTuneRecipe(make_job(config))
    recipe.setup()
    tokenizer = recipe.trainer.processing_class
    batch = next(iter(recipe.trainer.get_train_dataloader()))
    answers = {c["messages"][-1]["content"] for c in tiny.conversations(200)}
    for ids, labels in zip(batch["input_ids"], batch["labels"]):
        trained = tokenizer.decode(ids[labels != -100])
        assert trained.endswith("<|im_end|>") and trained.removesuffix("<|im_end|>") in answers, trained
        masked = tokenizer.decode(ids[(labels == -100) & (ids != tokenizer.pad_token_id)])
        assert "<|im_start|>system" in masked and "<|im_start|>user" in masked and "assistant" in masked
    recipe.train()
    recipe.cleanup()
    history = losses(recipe.trainer.state.log_history)
    assert len(history) == 40
    assert sum(history[-5:]) / 5 < 0.6 * sum(history[:5]) / 5, history
    out = config.parent / "out"
    assert (out / "adapter_model.safetensors").is_file() and (out / "adapter_config.json").is_file()
    assert (out / "chat_template.jinja").is_file() or "chat_template" in (out / "tokenizer_config.json").read_text()
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-30", "checkpoint-40"]  # save_total_limit
    logged = [json.loads(line) for line in (out / "run" / "metrics.jsonl").read_text().splitlines()]
    step_lines = [m for m in logged if "loss" in m]
    assert {"loss", "grad_norm", "learning_rate", "memory_mib"} <= set(step_lines[-1])
    assert step_lines[-1]["tokens_per_second"] > 0
    runtime = json.loads((out / "run" / "runtime.json").read_text())
    assert runtime["world_size"] == 1 and runtime["wrapper"] == "PeftModelForCausalLM"


def test_dpo_trains_on_preference_pairs(project):
    recipe = run_recipe(project(PAIRS))
    logged = [h for h in recipe.trainer.state.log_history if "loss" in h]
    assert len(logged) == 12
    assert all(0 < h["loss"] < 5 for h in logged)
    assert any("rewards/margins" in k for k in logged[-1]), logged[-1].keys()
    assert (project.root / "out" / "adapter_model.safetensors").is_file()


def test_qlora_trains_lora_on_a_4bit_base(project):
    import bitsandbytes as bnb

    config = project(SFT, adapter="qlora", load_in_4bit="true", max_steps=20, lora_modules_to_save=None)
    recipe = run_recipe(config)
    base = recipe.trainer.model.get_base_model()
    kinds = {type(m).__name__ for m in base.modules()}
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in base.modules()), kinds
    assert getattr(base, "is_loaded_in_4bit", False)
    history = losses(recipe.trainer.state.log_history)
    assert len(history) == 20 and history[-1] < history[0]
    assert (project.root / "out" / "adapter_model.safetensors").is_file()


def test_merge_gives_the_logits_of_adapter_plus_base(project):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = project(SFT, merge_lora="true", max_steps=10)
    recipe = run_recipe(config)
    out = project.root / "out"
    assert recipe.outcome["merged"] == str(out / "merged")
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = tokenizer("<|im_start|>user\nwhat is two plus two?<|im_end|>\n", return_tensors="pt")["input_ids"]
    base = AutoModelForCausalLM.from_pretrained(project.root / "model")
    with_adapter = PeftModel.from_pretrained(base, out).eval()
    merged = AutoModelForCausalLM.from_pretrained(out / "merged").eval()
    plain = AutoModelForCausalLM.from_pretrained(project.root / "model").eval()
    with torch.no_grad():
        expected, got, untouched = with_adapter(ids).logits, merged(ids).logits, plain(ids).logits
    assert (expected - got).abs().max().item() < 1e-4
    assert (expected - untouched).abs().max().item() > 1e-2  # the adapter did change the model


PAIRS_DATA = "  - path: data/pairs.jsonl\n    type: chat_template.default\n"


def _method_config(project, method: str):
    """A two-step config of `method` with data in its format."""
    from ftdoctor.trainer import tiny

    body, changes = PAIRS, {"rl": method}
    if method == "reward":
        changes = {"rl": None, "reward_model": "true"}
    if method == "kto":
        rows = [{"prompt": r["prompt"], "completion": r[k], "label": k == "chosen"}
                for r in tiny.preference_pairs(24) for k in ("chosen", "rejected")]
        tiny.write_jsonl(project.root / "data" / "kto.jsonl", rows)
        body = body.replace(PAIRS_DATA, "  - path: data/kto.jsonl\n")
    if method == "grpo":
        prompts = [{"prompt": r["prompt"]} for r in tiny.preference_pairs(16)]
        tiny.write_jsonl(project.root / "data" / "prompts.jsonl", prompts)
        (project.root / "rewards.py").write_text("def short(completions, **kw):\n"
                                                 "    return [-float(len(c[0]['content'])) for c in completions]\n")
        body = body.replace(PAIRS_DATA, "  - path: data/prompts.jsonl\n") + (
            "trl:\n  num_generations: 2\n  max_completion_length: 8\n  reward_funcs: [rewards.short]\n")
    return project(body, max_steps=2, **changes)


@pytest.mark.parametrize("method", ["ipo", "kto", "orpo", "simpo", "reward", "grpo"])
def test_each_offered_method_trains(project, method):
    from ftdoctor.trainer.recipe import methods

    assert methods.offered()[method] == ""
    recipe = run_recipe(_method_config(project, method))
    assert len(losses(recipe.trainer.state.log_history)) == 2
    assert recipe.method.name == method


def test_a_world_that_does_not_match_the_launch_stops_the_run(project):
    from ftdoctor.trainer.recipe.callbacks import WorldMismatch
    from ftdoctor.trainer.recipe.recipe import FineTuneRecipe

    from dataclasses import replace

    recipe = FineTuneRecipe(replace(make_job(project(SFT, max_steps=2)), processes=2, distributed="ddp"))
    recipe.setup()
    with pytest.raises(WorldMismatch, match="launched for 2 processes but this one sees a world of 1"):
        recipe.train()


def test_packing_keeps_the_assistant_only_mask(project):
    from ftdoctor.trainer.recipe.recipe import FineTuneRecipe

    recipe = FineTuneRecipe(make_job(project(SFT, sample_packing="true", max_steps=2)))
    recipe.setup()
    batch = next(iter(recipe.trainer.get_train_dataloader()))
    assert batch["input_ids"].shape[0] == 1 and "position_ids" in batch  # padding-free packed rows
    tokenizer = recipe.trainer.processing_class
    trained = tokenizer.decode(batch["input_ids"][0][batch["labels"][0] != -100])
    assert "<|im_start|>" not in trained and trained.count("<|im_end|>") >= 8


def test_alpaca_data_trains_on_the_response_only(project):
    from ftdoctor.trainer import tiny
    from ftdoctor.trainer.recipe.recipe import FineTuneRecipe

    rows = [{"instruction": p["prompt"], "input": "", "output": p["completion"]} for p in tiny.prompt_completions(40)]
    tiny.write_jsonl(project.root / "data" / "alpaca.jsonl", rows)
    body = SFT.replace("data/chat.jsonl", "data/alpaca.jsonl").replace("type: chat_template", "type: alpaca")
    recipe = FineTuneRecipe(make_job(project(body, max_steps=2)))
    recipe.setup()
    batch = next(iter(recipe.trainer.get_train_dataloader()))
    tokenizer = recipe.trainer.processing_class
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    trained = tokenizer.decode(ids[labels != -100])
    prompt = tokenizer.decode(ids[(labels == -100) & (ids != tokenizer.pad_token_id)])
    assert "### Instruction:" in prompt and "### Response:" in prompt
    assert "###" not in trained and " is " in trained and trained.endswith("<|im_end|>")


def test_added_tokens_get_trained_embeddings_saved_with_the_adapter(project):
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    config = project(SFT, max_steps=5, tokens="['<|tool|>', '<|think|>']")
    recipe = run_recipe(config)
    out = project.root / "out"
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert "<|tool|>" in tokenizer.get_vocab() and "<|think|>" in tokenizer.get_vocab()
    weights = load_file(out / "adapter_model.safetensors")
    embeddings = [v for k, v in weights.items() if "embed_tokens" in k]
    assert embeddings and embeddings[0].shape[0] == len(tokenizer)
    assert any("added 2 token(s)" in note for note in recipe.token_changes.notes)


def test_val_set_size_evaluates(project):
    recipe = run_recipe(project(SFT, max_steps=4, val_set_size=0.1))
    assert len(recipe.trainer.eval_dataset) == 20
    assert "eval_loss" in recipe.outcome["metrics"]


def _trained_with_stream(config):
    import io

    from ftdoctor.trainer.recipe.recipe import FineTuneRecipe

    stream = io.StringIO()
    recipe = FineTuneRecipe(make_job(config), stream=stream)
    recipe.setup()
    recipe.train()
    recipe.cleanup()
    return recipe, stream.getvalue()


def test_tensorboard_gets_the_logged_scalars_when_installed(project):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    recipe, said = _trained_with_stream(project(SFT, max_steps=4, val_set_size=0.1))
    runs = project.root / "out" / "runs"
    assert f"ftdoctor: logging to TensorBoard in {runs} (view: tensorboard --logdir {runs})" in said
    assert recipe.outcome["tensorboard"] == str(runs)
    folders = [p for p in runs.iterdir() if p.is_dir()]
    assert len(folders) == 1 and list(folders[0].glob("events.out.tfevents.*"))
    events = EventAccumulator(str(folders[0]))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/grad_norm", "train/learning_rate", "train/memory_mib",
            "train/tokens_per_second", "eval/loss"} <= tags, tags
    logged = [h for h in recipe.trainer.state.log_history if "loss" in h]
    scalars = events.Scalars("train/loss")
    assert [s.step for s in scalars] == [h["step"] for h in logged] == [1, 2, 3, 4]
    assert [s.value for s in scalars] == pytest.approx([h["loss"] for h in logged], rel=1e-6)
    assert [s.value for s in events.Scalars("train/grad_norm")] == pytest.approx(
        [h["grad_norm"] for h in logged], rel=1e-6)
    assert events.Scalars("eval/loss")[-1].value == pytest.approx(recipe.outcome["metrics"]["eval_loss"], rel=1e-6)


def test_without_tensorboard_the_run_trains_and_says_it_does_not_log_there(project, monkeypatch):
    import sys

    for name in ("tensorboard", "tensorboardX"):  # None in sys.modules: Python's own "not importable here"
        monkeypatch.setitem(sys.modules, name, None)
    recipe, said = _trained_with_stream(project(SFT, max_steps=3))
    assert (f"ftdoctor: not logging to TensorBoard: tensorboard is not installed for {sys.executable} "
            "(pip install tensorboard); the metrics are in run/metrics.jsonl") in said
    assert recipe.trainer.args.report_to in ([], "none", ["none"])
    assert recipe.outcome["tensorboard"] is None and recipe.outcome["global_step"] == 3
    assert not (project.root / "out" / "runs").exists()
    assert len((project.root / "out" / "run" / "metrics.jsonl").read_text().splitlines()) >= 3


def test_use_tensorboard_false_turns_it_off_and_says_so(tmp_path):
    from ftdoctor.trainer.recipe.callbacks import TensorBoard
    from ftdoctor.trainer.recipe.job import Job

    job = Job(config_path="c.yml", output_dir=str(tmp_path), model_path="m", tokenizer_path="m", data=(), method="sft")
    off = TensorBoard.choose(job, False)
    assert not off.on and off.folder is None and "use_tensorboard: false" in off.note
    on = TensorBoard.choose(job, None)
    assert on.on and on.folder == str(tmp_path / "runs")
