"""Read a training config file: YAML with lines → (TRL dialect translated) → validated `TrainConfig`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ftdoctor.trainer.config import trl_dialect
from ftdoctor.trainer.config.schema import TrainConfig
from ftdoctor.trainer.config.source import KeyPath, Source, read_source
from ftdoctor.trainer.config.validate import Issue, suggest, validate


@dataclass(frozen=True)
class LoadedConfig:
    source: Source
    config: TrainConfig
    issues: tuple[Issue, ...]
    dialect: str = "axolotl"  # "axolotl" | "trl"
    trl_command: str | None = None
    trl_unknown: tuple[str, ...] = ()  # keys a TRL CLI config holds that the TRL CLI does not know

    @property
    def path(self) -> Path:
        return self.source.path

    @property
    def folder(self) -> Path:
        return self.source.path.resolve().parent

    def where(self, path: KeyPath = ()) -> str:
        return self.source.where(path)

    def has(self, *path: str | int) -> bool:
        return tuple(path) in self.source.lines


def load_config(path: str | Path) -> LoadedConfig:
    source = read_source(path)
    if not trl_dialect.is_trl_config(source.data):
        config, issues = validate(source)
        return LoadedConfig(source, config, tuple(issues))
    return _load_trl(source)


def _load_trl(source: Source) -> LoadedConfig:
    translation = trl_dialect.translate(source)
    original = source.data
    source.data = translation.data
    config, issues = validate(source, exempt=("learning_rate",))
    source.data = original
    notes = [Issue(kind, path, message, severity, hint) for kind, path, message, severity, hint in
             trl_dialect.notes(translation)]
    vocab = trl_dialect.trl_vocabulary().commands[trl_dialect.vocabulary_command(translation.command)]
    for name in translation.not_trl:
        near = trl_dialect.TRL_SPELLING.get(name) or suggest(name, "", {k: None for k in vocab})
        notes.append(Issue("unknown-trl", (name,), f"`{name}` is not a key of `trl {translation.command}` "
                           f"(TRL {trl_dialect.trl_vocabulary().trl_version}): its `--config` parser drops it "
                           "silently", hint=f"did you mean `{near}`?" if near else "delete it, or move it to the "
                           "script that reads it"))
    return LoadedConfig(source, config, tuple(notes + issues), "trl", translation.command, translation.not_trl)
