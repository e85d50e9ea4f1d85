"""Axolotl dataset types → TRL formats, and config keys → TRL config arguments: pure mappings, case by case."""

from __future__ import annotations

import pytest

from ftdoctor.trainer.config.schema import DatasetConfig, FsdpConfig, TrainConfig, TrlOptions
from ftdoctor.trainer.recipe.arguments import fsdp_options, fsdp_words, trainer_arguments
from ftdoctor.trainer.recipe.formats import ALPACA_NO_INPUT, UnsupportedData, conversion
from ftdoctor.trainer.recipe.job import Job
from ftdoctor.trainer.recipe.methods import method_for


def convert(row, data="language_modeling", **spec):
    fn = conversion(DatasetConfig(path="d.jsonl", **spec), data, tuple(row))
    return fn.target, fn(row)


def test_chat_template_rows_are_normalised_messages():
    row = {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}
    target, out = convert(row, type="chat_template", field_messages="conversations",
                          message_property_mappings={"role": "from", "content": "value"})
    assert target == "messages"
    assert out == {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def test_sharegpt_keys_and_custom_roles_and_system_handling():
    row = {"conversations": [{"from": "system", "value": "s"}, {"from": "asker", "value": "q"},
                             {"from": "bot", "value": "a"}]}
    _, out = convert(row, type="chat_template", roles={"user": ["asker"]}, drop_system_message=True)
    assert out["messages"] == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    fn = conversion(DatasetConfig(path="d", type="chat_template"), "language_modeling", ("messages",),
                    default_system="be brief")
    assert fn({"messages": [{"role": "user", "content": "q"}]})["messages"][0] == {"role": "system",
                                                                                    "content": "be brief"}


def test_alpaca_becomes_prompt_completion_with_the_alpaca_prompt():
    target, out = convert({"instruction": "add", "input": "", "output": "4"}, type="alpaca")
    assert target == "prompt_completion"
    assert out == {"prompt": ALPACA_NO_INPUT.format(instruction="add"), "completion": "4"}
    _, with_input = convert({"instruction": "add", "input": "2 and 2", "output": "4"})
    assert "### Input:\n2 and 2" in with_input["prompt"]


def test_completion_and_custom_types():
    assert convert({"body": "abc"}, type="completion", field="body") == ("text", {"text": "abc"})
    custom = {"field_instruction": "q", "field_output": "a", "format": "Q: {instruction}\nA: "}
    assert convert({"q": "why", "a": "because"}, type=custom) == ("prompt_completion",
                                                                  {"prompt": "Q: why\nA: ", "completion": "because"})


def test_untyped_data_is_taken_as_it_is():
    assert convert({"prompt": "p", "completion": "c"})[0] == "prompt_completion"
    assert convert({"text": "t"})[0] == "text"
    assert convert({"messages": []})[0] == "messages"


def test_unsupported_types_say_what_would_work():
    with pytest.raises(UnsupportedData) as raised:
        convert({"x": 1}, type="input_output")
    assert "input_output" in str(raised.value) and "chat_template" in raised.value.fix
    with pytest.raises(UnsupportedData, match="has no messages column"):
        convert({"text": "t"}, type="chat_template")


@pytest.mark.parametrize("type_, row, expected_prompt", [
    ("chatml.intel", {"question": "q", "chosen": "a", "rejected": "b"}, "q"),
    ("chatml.argilla", {"instruction": "q", "chosen_response": "a", "rejected_response": "b"}, "q"),
    (None, {"prompt": "q", "chosen": "a", "rejected": "b"}, "q"),
])
def test_preference_flavours(type_, row, expected_prompt):
    target, out = convert(row, "preference", type=type_)
    assert target == "preference" and out == {"prompt": expected_prompt, "chosen": "a", "rejected": "b"}


def test_chat_template_default_preference_wraps_messages():
    row = {"messages": [{"role": "user", "content": "q"}], "chosen": {"role": "assistant", "content": "a"},
           "rejected": {"role": "assistant", "content": "b"}}
    _, out = convert(row, "preference", type="chat_template.default")
    assert out == {"prompt": [{"role": "user", "content": "q"}], "chosen": [row["chosen"]],
                   "rejected": [row["rejected"]]}
    _, implicit = convert({"chosen": [row["chosen"]], "rejected": [row["rejected"]]}, "preference")
    assert "prompt" not in implicit


def test_kto_and_grpo_columns():
    with pytest.raises(UnsupportedData, match="lacks label"):
        convert({"prompt": "p", "completion": "c"}, "unpaired_preference")
    fn = conversion(DatasetConfig(path="d"), "prompt_only", ("prompt", "answer"))
    assert fn.keep_columns and fn({"prompt": "p", "answer": 4}) == {"prompt": "p", "answer": 4}


# ----------------------------------------------------------------------------- arguments
def job(**kw):
    return Job(config_path="c.yml", output_dir="/o", model_path="/m", tokenizer_path="/m", data=(), method="sft", **kw)


def args(config=TrainConfig(learning_rate=1e-4), method="sft", target="messages", has_eval=False, tb=False, **jobkw):
    return trainer_arguments(config, job(**jobkw), method_for(method), data_target=target, has_eval=has_eval,
                             tensorboard=tb)


def test_defaults_follow_axolotl_and_the_cpu():
    a = args()
    assert a["per_device_train_batch_size"] == 1 and a["gradient_accumulation_steps"] == 1
    assert a["lr_scheduler_type"] == "cosine" and a["max_steps"] == -1 and a["num_train_epochs"] == 1.0
    assert a["use_cpu"] and not a["bf16"] and not a["fp16"] and a["activation_checkpointing"] is False
    assert a["max_length"] == 512 and a["assistant_only_loss"] is True and a["packing"] is False
    assert a["report_to"] == "none" and a["include_num_input_tokens_seen"] == "non_padding"
    assert a["seed"] == 42 and a["logging_steps"] == 1 and a["save_strategy"] == "epoch"


def test_bf16_auto_is_on_for_gpus_only():
    assert args(device="cuda")["bf16"] and not args(device="cpu")["bf16"]
    assert args(TrainConfig(learning_rate=1e-4, fp16=True), device="cuda")["fp16"]


def test_schedule_warmup_and_saving():
    config = TrainConfig(learning_rate=3e-4, micro_batch_size=4, batch_size=32, warmup_ratio=0.1,
                         cosine_min_lr_ratio=0.1, save_steps=50, save_total_limit=3, val_set_size=0.05,
                         eval_steps=25, max_steps=200, optimizer="adamw_torch")
    a = args(config, has_eval=True, processes=2)
    assert a["gradient_accumulation_steps"] == 4  # 32 / (4 × 2 processes)
    assert a["warmup_steps"] == 0.1 and a["lr_scheduler_type"] == "cosine_with_min_lr"
    assert a["lr_scheduler_kwargs"] == {"min_lr_rate": 0.1} and a["optim"] == "adamw_torch"
    assert (a["save_strategy"], a["save_steps"], a["save_total_limit"]) == ("steps", 50, 3)
    assert (a["eval_strategy"], a["eval_steps"]) == ("steps", 25)


def test_loss_masking_follows_train_on_inputs():
    assert args(target="prompt_completion")["completion_only_loss"] is True
    assert args(TrainConfig(learning_rate=1, train_on_inputs=True))["assistant_only_loss"] is False
    assert "assistant_only_loss" not in args(target="text")


def test_gradient_checkpointing_uses_the_new_name():
    a = args(TrainConfig(learning_rate=1, gradient_checkpointing=True))
    assert a["activation_checkpointing"] and a["activation_checkpointing_kwargs"] == {"use_reentrant": True}
    assert "gradient_checkpointing" not in a


def test_method_settings():
    dpo = args(TrainConfig(learning_rate=1, rl="dpo", rl_beta=0.2, trl=TrlOptions(loss_type="hinge")), "dpo")
    assert dpo["beta"] == 0.2 and dpo["loss_type"] == ["hinge"] and "assistant_only_loss" not in dpo
    assert args(TrainConfig(learning_rate=1, rl="ipo"), "ipo")["loss_type"] == ["ipo"]
    assert args(TrainConfig(learning_rate=1, rl="kto"), "kto")["remove_unused_columns"] is False
    assert args(TrainConfig(learning_rate=1, rl="orpo", orpo_alpha=0.5), "orpo")["beta"] == 0.5
    simpo = args(TrainConfig(learning_rate=1, rl="simpo"), "simpo")
    assert simpo["loss_type"] == "simpo" and simpo["cpo_alpha"] == 0.0
    grpo = args(TrainConfig(learning_rate=1, rl="grpo", trl=TrlOptions(num_generations=4, max_completion_length=32)),
                "grpo")
    assert grpo["num_generations"] == 4 and grpo["max_completion_length"] == 32 and "max_length" not in grpo


def test_distributed_settings():
    ds = {"zero_optimization": {"stage": 2}}
    assert args(distributed="deepspeed", deepspeed=ds)["deepspeed"] == ds
    config = TrainConfig(learning_rate=1, fsdp_version=2, fsdp_config=FsdpConfig(
        offload_params=True, transformer_layer_cls_to_wrap="LlamaDecoderLayer", reshard_after_forward=False))
    assert fsdp_words(config) == "shard_grad_op auto_wrap offload"
    assert fsdp_options(config) == {"offload_params": True, "transformer_layer_cls_to_wrap": "LlamaDecoderLayer",
                                    "reshard_after_forward": False, "version": 2}
    fsdp = args(config, distributed="fsdp")
    assert fsdp["fsdp"] == "shard_grad_op auto_wrap offload" and fsdp["fsdp_config"]["version"] == 2


def test_tensorboard_only_when_installed_and_wanted():
    assert args(tb=True)["report_to"] == ["tensorboard"]
    assert args(TrainConfig(learning_rate=1, use_tensorboard=False), tb=True)["report_to"] == "none"
