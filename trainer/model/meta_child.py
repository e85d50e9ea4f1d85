"""Run in a subprocess by `naming.meta_modules`: build a model from its config.json on the meta device (no
weights, no memory) and print its module names as JSON. torch and transformers are imported here only."""

from __future__ import annotations

import json
import sys


def main(config_dir: str) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(config_dir)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    print(json.dumps(sorted({name for name, _ in model.named_modules() if name})))


if __name__ == "__main__":
    main(sys.argv[1])
