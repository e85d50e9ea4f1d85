"""Everything the preflight knows about the base model without loading its weights: where it is, its shape
(config.json, or the known-models table for a hub name), its module names and its tokenizer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ftdoctor.trainer.locate import Located, locate
from ftdoctor.trainer.model.naming import Naming, meta_modules, naming_for
from ftdoctor.trainer.model.shape import ModelShape, from_config_json, lookup_known
from ftdoctor.trainer.model.tokenizer import TokenizerFacts, read_tokenizer


@dataclass(frozen=True)
class ModelReport:
    located: Located
    shape: ModelShape | None = None
    shape_note: str = ""  # why the shape is unknown, or where it came from
    naming: Naming | None = None
    module_names: frozenset[str] = frozenset()  # leaf names of every module
    naming_note: str = ""
    tokenizer: TokenizerFacts | None = None
    tokenizer_note: str = ""

    @property
    def name(self) -> str:
        return self.located.name


def inspect_model(base_model: str, config_folder: Path, *, tokenizer_name: str | None = None,
                  build_unknown: bool = True) -> ModelReport:
    located = locate(base_model, config_folder)
    shape, shape_note = _shape(located)
    naming, modules, naming_note = _naming(located, shape, build_unknown)
    tokenizer, tokenizer_note = _tokenizer(located, tokenizer_name, config_folder)
    return ModelReport(located, shape, shape_note, naming, modules, naming_note, tokenizer, tokenizer_note)


def _shape(located: Located) -> tuple[ModelShape | None, str]:
    if located.path is not None and located.kind in ("local", "cache"):
        config = located.path / "config.json"
        if not config.is_file():
            return None, f"no config.json in {located.path}"
        try:
            return from_config_json(config), f"read from {config}"
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return None, f"{config} is not readable JSON ({exc})"
        except KeyError as exc:
            return None, f"{config} lacks {exc.args[0]}: not a transformer language model ftdoctor can size"
    known = lookup_known(located.name)
    if known is not None:
        return known.shape, known.shape.source
    return None, "not available offline and not among ftdoctor's known models"


def _naming(located: Located, shape: ModelShape | None, build: bool) -> tuple[Naming | None, frozenset[str], str]:
    if shape is None:
        return None, frozenset(), "the architecture is unknown"
    naming = naming_for(shape.model_type)
    if naming is not None:
        return naming, naming.all | naming.paths(shape.model_type), f"module names of `{shape.model_type}` models"
    if not build or located.kind not in ("local", "cache") or located.path is None:
        return None, frozenset(), f"`{shape.model_type}` is not in ftdoctor's naming table and the model is not local"
    names, why = meta_modules(str(located.path))
    if not names:
        return None, frozenset(), why
    leaves = frozenset(n.rsplit(".", 1)[-1] for n in names if not n.rsplit(".", 1)[-1].isdigit())
    return None, leaves | frozenset(names), f"module names from building `{shape.model_type}` on the meta device"


def _tokenizer(located: Located, tokenizer_name: str | None, folder: Path) -> tuple[TokenizerFacts | None, str]:
    source = locate(tokenizer_name, folder) if tokenizer_name else located
    if source.kind not in ("local", "cache") or source.path is None:
        return None, f"the tokenizer of {source.name} is not available offline"
    facts = read_tokenizer(source.path)
    if facts is None:
        return None, f"no tokenizer files in {source.path}"
    return facts, f"read from {source.path}"
