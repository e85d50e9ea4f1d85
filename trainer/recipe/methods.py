"""Which TRL trainer runs each training method, found in the installed TRL when the run starts.

TRL moves trainers between `trl` and `trl.experimental` and drops some between releases (PPO, BCO, Nash-MD,
XPO and PRM are gone from 1.16), so nothing here is assumed: `offered()` imports each candidate and says
which methods this TRL can run. With TRL 1.16: sft, dpo, ipo, kto, grpo and reward from `trl`; orpo and
simpo (CPO with the SimPO loss) from `trl.experimental`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any


@dataclass(frozen=True)
class Method:
    name: str
    module: str  # where the trainer and its config class live
    trainer: str
    config: str
    data: str  # the TRL format it trains on: language_modeling | preference | unpaired_preference | prompt_only
    settings: dict[str, Any] = field(default_factory=dict)  # fixed config keywords (the loss that defines it)
    experimental: bool = False
    reference_model: bool = False  # a frozen copy of the model scores each batch (unless an adapter can be off)

    def load(self) -> tuple[type, type]:
        """(trainer class, config class); ImportError/AttributeError when this TRL does not offer it."""
        module = import_module(self.module)
        return getattr(module, self.trainer), getattr(module, self.config)


METHODS = (
    Method("sft", "trl", "SFTTrainer", "SFTConfig", "language_modeling"),
    Method("dpo", "trl", "DPOTrainer", "DPOConfig", "preference", reference_model=True),
    Method("ipo", "trl", "DPOTrainer", "DPOConfig", "preference", {"loss_type": ["ipo"]}, reference_model=True),
    Method("kto", "trl", "KTOTrainer", "KTOConfig", "unpaired_preference", {"remove_unused_columns": False},
           reference_model=True),
    Method("orpo", "trl.experimental.orpo", "ORPOTrainer", "ORPOConfig", "preference", experimental=True),
    Method("simpo", "trl.experimental.cpo", "CPOTrainer", "CPOConfig", "preference",
           {"loss_type": "simpo", "cpo_alpha": 0.0}, experimental=True),
    Method("grpo", "trl", "GRPOTrainer", "GRPOConfig", "prompt_only"),
    Method("reward", "trl", "RewardTrainer", "RewardConfig", "preference"),
)
BY_NAME = {m.name: m for m in METHODS}
NOT_OFFERED = {
    "gdpo": "GDPO is an Axolotl method with no TRL trainer",
    "ebft": "EBFT is an Axolotl method with no TRL trainer",
    "prm": "TRL 1.16 removed the process reward model trainer (PRMTrainer)",
}


def method_for(name: str) -> Method | None:
    return BY_NAME.get(name)


def offered() -> dict[str, str]:
    """Every method name → "" when the installed TRL offers it, else why not (imports TRL: slow)."""
    import os

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    found = {}
    for method in METHODS:
        try:
            method.load()
            found[method.name] = ""
        except (ImportError, AttributeError) as exc:
            found[method.name] = f"not in this TRL ({type(exc).__name__}: {exc})"
    return {**found, **NOT_OFFERED}
