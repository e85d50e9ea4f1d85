"""`ftdoctor demo [DIR]`: a real fine-tuning run with nothing downloaded.

It writes a project into DIR — the tiny Llama of `tiny.py` (random weights, a tokenizer trained on the
spot, a ChatML template), 400 short conversations, and an Axolotl-style LoRA config — then trains it
through the guarded launch (`ftdoctor train`), reloads the saved adapter onto the base model and answers
a few questions with it. About half a minute of training on a 2-core CPU.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from ftdoctor.errors import OutputExistsError

QUESTIONS = ("what is three plus four?", "what is two plus five?", "what colour does Ada like?")

CONFIG = """\
# A LoRA run on ftdoctor's tiny local model (built by `ftdoctor demo`; nothing is downloaded).
base_model: ./model
datasets:
  - path: data/chat.jsonl
    type: chat_template            # {{"messages": [...]}}; loss on the assistant turns only
adapter: lora
lora_r: 32
lora_alpha: 64
lora_target_linear: true
# the base model is random: train its embeddings and output layer too (saved with the adapter)
lora_modules_to_save: [embed_tokens, lm_head]
sequence_len: 128
micro_batch_size: 16
gradient_accumulation_steps: 1
learning_rate: 0.005
lr_scheduler: constant_with_warmup
warmup_steps: 10
max_steps: {steps}
logging_steps: 10
save_steps: {save_steps}
save_total_limit: 2
seed: 0
output_dir: ./out
"""


def write_project(folder: Path, *, steps: int = 300) -> Path:
    """The demo project in `folder` (refused when it already holds files); returns its config file."""
    from ftdoctor import atomic
    from ftdoctor.trainer import tiny

    if folder.exists() and any(folder.iterdir()):
        raise OutputExistsError("the demo folder already holds files; refusing to overwrite them", where=str(folder),
                                hint="give another folder: ftdoctor demo NEW_DIR")
    tiny.build(folder / "model")
    tiny.write_jsonl(folder / "data" / "chat.jsonl", tiny.conversations(400, seed=1))
    text = CONFIG.format(steps=steps, save_steps=max(1, steps // 3))
    return atomic.write_text(folder / "config.yml", text)


def answer(base: Path, adapter: Path, questions: tuple[str, ...] = QUESTIONS) -> list[tuple[str, str]]:
    """Load the base model with the saved adapter and answer each question greedily."""
    import warnings

    from peft import PeftModel
    from transformers import AutoTokenizer

    from ftdoctor.trainer.recipe.merge import load_base
    from ftdoctor.trainer.tiny import SYSTEM

    # transformers warns about its own internal use of a deprecated name (as in the worker); nothing to act on
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    tokenizer = AutoTokenizer.from_pretrained(str(adapter))
    model = PeftModel.from_pretrained(load_base(str(base), tokenizer, dtype=None), str(adapter)).eval()
    answers = []
    for question in questions:
        chat = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
        inputs = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt",
                                               return_dict=True)
        output = model.generate(**inputs, max_new_tokens=24, do_sample=False, eos_token_id=tokenizer.eos_token_id,
                                pad_token_id=tokenizer.pad_token_id)
        reply = tokenizer.decode(output[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        answers.append((question, reply.strip()))
    return answers


def run_demo(folder: Path, *, steps: int = 300, out: TextIO | None = None):
    from ftdoctor.errors import ExitCode
    from ftdoctor.trainer.launch.guarded import TrainOptions, guarded_train, live_facts

    out = out or sys.stdout
    config = write_project(folder, steps=steps)
    out.write(f"ftdoctor demo: wrote the tiny model, 400 conversations and {config}\n")
    code = guarded_train(TrainOptions(str(config)), facts=live_facts())
    if code != ExitCode.OK:
        return code
    out.write("\nftdoctor demo: the adapter reloaded onto the base model answers:\n")
    for question, reply in answer(folder / "model", folder / "out"):
        out.write(f"  Q: {question}\n  A: {reply}\n")
    return ExitCode.OK
