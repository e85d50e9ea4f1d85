"""A tiny, real causal LM built on this machine: no hub, no download.

A byte-level BPE tokenizer trained in-process on generated text, with a ChatML chat template that marks
assistant turns with `{% generation %}` (what TRL's assistant-only loss needs), and a randomly initialised
`LlamaForCausalLM` (hidden 64, 2 layers by default). Plus small JSON-lines datasets in TRL's formats.
Tests, benchmarks and `ftdoctor demo` use it. transformers, tokenizers and torch are imported inside the
functions that need them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>")
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
NAMES = ("Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "June", "Kai", "Lena")
COLOURS = ("red", "green", "blue", "yellow", "purple", "orange", "black", "white")
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
           "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen")
SYSTEM = "You are a helpful assistant."


@dataclass(frozen=True)
class TinySpec:
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 4
    max_position_embeddings: int = 256
    vocab_target: int = 512
    tie_word_embeddings: bool = False
    seed: int = 0


def example(rng: random.Random) -> tuple[str, str]:
    """One (question, answer) pair of the tiny world: arithmetic or favourite colours."""
    if rng.random() < 0.5:
        a, b = rng.randrange(10), rng.randrange(9)
        return f"what is {NUMBERS[a]} plus {NUMBERS[b]}?", f"{NUMBERS[a]} plus {NUMBERS[b]} is {NUMBERS[a + b]}."
    name, colour = rng.choice(NAMES), rng.choice(COLOURS)
    return f"what colour does {name} like?", f"{name} likes {colour}."


def corpus(lines: int = 1200, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(example(rng)) for _ in range(lines)]


def build_tokenizer(spec: TinySpec = TinySpec()):
    """A `PreTrainedTokenizerFast` with the ChatML template (needs `tokenizers` and `transformers`)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=spec.vocab_target, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator(corpus(seed=spec.seed), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|pad|>",
                                        bos_token=None, unk_token=None)
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def model_config(vocab_size: int, spec: TinySpec = TinySpec()):
    from transformers import LlamaConfig

    return LlamaConfig(
        hidden_size=spec.hidden_size, intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers, num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads, vocab_size=vocab_size,
        max_position_embeddings=spec.max_position_embeddings, tie_word_embeddings=spec.tie_word_embeddings,
        eos_token_id=None, bos_token_id=None, pad_token_id=None,
    )


def build(directory: str | Path, spec: TinySpec = TinySpec(), *, weights: bool = True) -> Path:
    """Write the tokenizer and model to `directory` (config.json only when `weights` is false: no torch)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(spec)
    tokenizer.save_pretrained(out)
    config = model_config(len(tokenizer), spec)
    config.eos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    if not weights:
        config.architectures = ["LlamaForCausalLM"]
        config.save_pretrained(out)
        return out
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(spec.seed)
    LlamaForCausalLM(config).save_pretrained(out)
    return out


def conversations(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        question, answer = example(rng)
        rows.append({"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question},
                                  {"role": "assistant", "content": answer}]})
    return rows


def preference_pairs(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        question, answer = example(rng)
        wrong = answer.replace(answer.split()[-1], rng.choice(COLOURS + NUMBERS) + ".")
        rows.append({"prompt": [{"role": "user", "content": question}],
                     "chosen": [{"role": "assistant", "content": answer}],
                     "rejected": [{"role": "assistant", "content": wrong}]})
    return rows


def prompt_completions(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [dict(zip(("prompt", "completion"), example(rng))) for _ in range(n)]


def write_jsonl(path: str | Path, rows: list[dict]) -> Path:
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return file
