"""A plain TRL script, the baseline of benchmarks/train_speed.py: the same LoRA SFT that `ftdoctor train`
runs for the benchmark's config, written the way a TRL user would (no ftdoctor code).

    python benchmarks/plain_trl_sft.py PROJECT_DIR STEPS   → prints one JSON line of the trainer's metrics
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(project: Path, steps: int) -> None:
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(project / "model")
    model = AutoModelForCausalLM.from_pretrained(project / "model", dtype="float32", attn_implementation="sdpa")
    data = load_dataset("json", data_files=str(project / "data" / "chat.jsonl"), split="train")
    args = SFTConfig(output_dir=str(project / "plain-out"), max_steps=steps, per_device_train_batch_size=8,
                     gradient_accumulation_steps=1, learning_rate=2e-3, lr_scheduler_type="constant", seed=0,
                     data_seed=0, max_length=128, assistant_only_loss=True, bf16=False, use_cpu=True,
                     activation_checkpointing=False, logging_steps=5, save_strategy="no", report_to="none",
                     include_num_input_tokens_seen="non_padding", dataloader_pin_memory=False)
    peft = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, peft_config=peft)
    cpu = time.process_time()
    metrics = trainer.train().metrics
    print(json.dumps({"train_runtime": metrics["train_runtime"], "train_cpu_seconds": time.process_time() - cpu,
                      "num_input_tokens_seen": metrics["num_input_tokens_seen"]}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
