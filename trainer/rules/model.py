"""MDL6xx: the base model and its tokenizer, read from disk (never downloaded): found, sized, LoRA targets
real, chat template usable for the data, special tokens trainable."""

from __future__ import annotations

from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule
from ftdoctor.trainer.rules.combinations import _first

TEMPLATE_MARKERS = {  # Axolotl chat_template name -> tokens its text is built from
    "chatml": ("<|im_start|>", "<|im_end|>"), "qwen_25": ("<|im_start|>", "<|im_end|>"),
    "qwen3": ("<|im_start|>", "<|im_end|>"), "qwen3_5": ("<|im_start|>", "<|im_end|>"),
    "llama3": ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"), "llama4": ("<|header_start|>", "<|eot|>"),
    "gemma": ("<start_of_turn>", "<end_of_turn>"), "gemma3": ("<start_of_turn>", "<end_of_turn>"),
    "phi_3": ("<|user|>", "<|assistant|>", "<|end|>"), "phi_35": ("<|user|>", "<|assistant|>", "<|end|>"),
    "mistral_v1": ("[INST]", "[/INST]"), "mistral_v2v3": ("[INST]", "[/INST]"), "mistral_v7_tekken": ("[INST]", "[/INST]"),
    "cohere": ("<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>"),
}
NATIVE_TEMPLATES = {  # model_type -> the chat templates written for it
    "qwen2": ("chatml", "qwen_25"), "qwen3": ("chatml", "qwen3", "qwen_25"), "qwen3_moe": ("chatml", "qwen3"),
    "gemma": ("gemma",), "gemma2": ("gemma",), "gemma3_text": ("gemma3", "gemma"), "phi3": ("phi_3", "phi_35"),
    "mistral": ("mistral_v1", "mistral_v2v3", "mistral_v3_tekken", "mistral_v7_tekken"),
    "mixtral": ("mistral_v1", "mistral_v2v3"),
}


class ModelRule(Rule):
    family = "model"


def _model(ctx: Context):
    pre = ctx.pre
    return pre, pre.model


class ModelSource(ModelRule):
    """Where the base model comes from and what it is (a hub model not available offline is said once)."""

    code = "MDL600"
    severity = Severity.INFO

    def check(self, ctx: Context):
        pre, model = _model(ctx)
        if model is None:
            return NotApplicable("no base_model")
        where = pre.at(("base_model",))
        shape = model.shape
        size = f"{shape.model_type}, {_params(shape.total_params)} parameters" if shape else "size unknown"
        if model.located.kind == "hub":
            judged = f"judged from {shape.source}" if shape else "its architecture is unknown, so LoRA targets, " \
                "tokenizer and memory are not checked"
            return Info(f"`{model.name}` is a hub model not available offline ({size}); {judged}",
                        {"kind": "hub"}, location=where)
        if model.located.kind == "missing":
            return NotApplicable("the base model path is missing (MDL601)")
        note = f"; {model.located.note}" if model.located.note else ""
        return Info(f"`{model.name}`: {model.located.kind} ({size}){note}", {"kind": model.located.kind},
                    location=where)


def _params(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else (f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n:,}")


class ModelPresent(ModelRule):
    """A base_model that names a local path exists (and holds a readable config.json)."""

    code = "MDL601"

    def check(self, ctx: Context):
        pre, model = _model(ctx)
        if model is None:
            return NotApplicable("no base_model")
        where = pre.at(("base_model",))
        if model.located.kind == "missing":
            return Fail(f"base_model `{model.name}` looks like a local path but is not there (looked for "
                        f"{model.located.path} and in the working directory)",
                        fixes=(Fix("fix the path (it is resolved against the config file's folder), or give a hub "
                                   "name such as `Qwen/Qwen2.5-0.5B`"),), location=where)
        if model.located.kind in ("local", "cache") and model.shape is None:
            return Fail(f"base_model `{model.name}`: {model.shape_note}", fixes=(Fix(
                "point base_model at a folder saved with save_pretrained (config.json and weights)"),), location=where)
        return Pass("the base model is there" if model.located.kind != "hub" else "a hub model")


class RemoteCode(ModelRule):
    """Models that ship their own code are loaded with trust_remote_code."""

    code = "MDL602"

    def check(self, ctx: Context):
        pre, model = _model(ctx)
        if model is None or model.shape is None or not model.shape.auto_map:
            return NotApplicable("the model needs no remote code")
        if pre.config.trust_remote_code:
            return Info("the model runs its repository's own code (trust_remote_code: true): review it",
                        location=pre.at(("trust_remote_code",)))
        return Fail(f"`{model.name}` ships its own modelling code (config.json has auto_map) but trust_remote_code "
                    "is not true: loading fails", fixes=(Fix("add trust_remote_code: true after reviewing the code"),),
                    location=pre.at(("base_model",)))


class LoraTargetsExist(ModelRule):
    """LoRA target_modules name modules the model has."""

    code = "MDL603"

    def check(self, ctx: Context):
        pre, model = _model(ctx)
        lora = pre.plan.lora
        if not pre.config.adapter or not pre.config.lora_target_modules:
            return NotApplicable("no explicit LoRA targets")
        if not lora.known:
            why = model.naming_note if model else "no base model"
            return NotApplicable(f"the model's module names are unknown ({why})")
        where = pre.at(("lora_target_modules",))
        outcomes = []
        if lora.unmatched:
            severity = Severity.ERROR if not lora.names else Severity.WARNING
            consequence = ("PEFT fails: \"Target modules ... not found in the base model\"" if not lora.names else
                           "those get no adapter, silently")
            known = sorted(model.naming.linear) if model.naming else []
            outcomes.append(Fail(f"lora_target_modules {', '.join(f'`{n}`' for n in lora.unmatched)} match no module "
                                 f"of this {model.shape.model_type} model; {consequence}",
                                 {"unmatched": list(lora.unmatched), "linear_modules": known},
                                 (Fix(f"use the model's names: {', '.join(known)}" if known else
                                      "check the model's module names"),), severity=severity, location=where))
        if lora.expert_parameters:
            outcomes.append(Fail(f"{', '.join(f'`{n}`' for n in lora.expert_parameters)}: in this MoE model the "
                                 "experts are fused parameters (transformers 5), not modules, so LoRA skips them and "
                                 "only the attention is adapted", fixes=(Fix("target the experts with "
                                 "lora_target_parameters, or accept attention-only LoRA"),),
                                 severity=Severity.WARNING, location=where))
        return outcomes or Pass(f"every target matches: {', '.join(lora.names)}")


class ChatTemplatePresent(ModelRule):
    """Conversational data has a chat template to render it (the tokenizer's, or one named in the config)."""

    code = "MDL604"

    def check(self, ctx: Context):
        pre, model = _model(ctx)
        c = pre.config
        conversational = [r for r in pre.datasets if r.shape in ("conversational", "sharegpt", "preference")]
        wants_default = c.chat_template in (None, "tokenizer_default")
        if not (conversational or c.chat_template == "tokenizer_default") or not wants_default:
            return NotApplicable("the config names its chat template, or the data is not conversational")
        if model is None or model.tokenizer is None:
            return NotApplicable(f"the tokenizer is not available offline ({model.tokenizer_note if model else ''})")
        if model.tokenizer.chat_template:
            return Pass(f"the tokenizer has a chat template ({model.tokenizer.template_source})")
        return Fail("conversational data but the tokenizer has no chat template (a base model?): rendering fails "
                    "(\"Cannot use chat template functions because tokenizer.chat_template is not set\")",
                    fixes=(Fix("set `chat_template: chatml` (and add its tokens), or a jinja template"),),
                    location=_first(pre, "chat_template", "datasets"))


class AssistantOnlyMarkers(ModelRule):
    """Loss on assistant turns only works with `{% generation %}` markers in the chat template (TRL)."""

    code = "MDL605"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        pre, model = _model(ctx)
        c = pre.config
        conversational = any(r.shape in ("conversational", "sharegpt") for r in pre.datasets)
        if c.train_on_inputs or pre.plan.method != "sft" or not conversational:
            return NotApplicable("no assistant-only loss on conversations")
        if c.chat_template not in (None, "tokenizer_default"):
            return NotApplicable(f"the config's `{c.chat_template}` template is rendered by Axolotl's own masking")
        if model is None or model.tokenizer is None or not model.tokenizer.chat_template:
            return NotApplicable("no local chat template to inspect")
        if model.tokenizer.has_generation_markers:
            return Pass("the chat template marks assistant turns ({% generation %})")
        return Fail("the tokenizer's chat template has no `{% generation %}` markers: TRL's assistant-only loss "
                    "(what train_on_inputs: false means for ftdoctor's trainer) works only with templates TRL knows "
                    "how to patch, and raises \"The chat template is not training-compatible\" otherwise",
                    fixes=(Fix("wrap the assistant content in {% generation %}...{% endgeneration %} in the template, "
                               "or set train_on_inputs: true"),), location=_first(pre, "train_on_inputs", "datasets"))


class PadToken(ModelRule):
    """The tokenizer has a padding token (or the config sets one)."""

    code = "MDL606"
    severity = Severity.INFO

    def check(self, ctx: Context):
        pre, model = _model(ctx)
        c = pre.config
        if c.special_tokens and c.special_tokens.pad_token:
            return Pass(f"pad_token set in the config: {c.special_tokens.pad_token}")
        if model is None or model.tokenizer is None:
            return NotApplicable("the tokenizer is not available offline")
        if model.tokenizer.pad_token:
            return Pass(f"pad token {model.tokenizer.pad_token}")
        return Info(f"the tokenizer has no pad token: TRL pads with the end-of-sequence token "
                    f"({model.tokenizer.eos_token}), which is fine with attention masks", fixes=(Fix(
                        "set special_tokens.pad_token to an unused token to keep padding apart"),),
                    location=_first(pre, "special_tokens", "base_model"))


class TemplateTokens(ModelRule):
    """The chat template's marker tokens exist in the vocabulary (or are added), and suit the model family."""

    code = "MDL607"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        pre, model = _model(ctx)
        c = pre.config
        markers = TEMPLATE_MARKERS.get(c.chat_template or "")
        if not markers or model is None:
            return NotApplicable("no named chat template with known markers")
        added = set(c.tokens or ()) | set(_special(c))
        where = pre.at(("chat_template",))
        if model.tokenizer is not None and model.tokenizer.known_tokens:
            missing = [m for m in markers if not model.tokenizer.knows(m) and m not in added]
            if not missing:
                return Pass(f"{c.chat_template}'s markers are tokens of the vocabulary")
            return Fail(f"`chat_template: {c.chat_template}` uses {', '.join(missing)}, which this tokenizer does not "
                        "have: each becomes several ordinary tokens the model must learn", fixes=(Fix(
                            f"add them under `tokens:` with lora_modules_to_save: [embed_tokens, lm_head], or use "
                            "the model's own template (chat_template: tokenizer_default)"),), location=where)
        native = NATIVE_TEMPLATES.get(model.shape.model_type if model.shape else "", ())
        if not native or c.chat_template in native or set(markers) <= added:
            return NotApplicable("the tokenizer is not local and the template is not foreign to the family")
        return Fail(f"`chat_template: {c.chat_template}` on a {model.shape.model_type} model whose own templates are "
                    f"{', '.join(native)}: its markers ({', '.join(markers)}) are probably not tokens of this "
                    "vocabulary (the tokenizer is not available offline to be sure)", fixes=(Fix(
                        f"use chat_template: {native[0]}, or add the markers under `tokens:`"),), location=where)


def _special(c) -> list[str]:
    s = c.special_tokens
    if s is None:
        return []
    return [t for t in (s.bos_token, s.eos_token, s.pad_token, s.unk_token) if t] + list(s.additional_special_tokens or ())


class NewTokensTrained(ModelRule):
    """Tokens added to the vocabulary get trained embeddings (LoRA alone leaves them random)."""

    code = "MDL608"

    def check(self, ctx: Context):
        pre, model = _model(ctx)
        c = pre.config
        wanted = list(c.tokens or ()) + _special(c)
        if not wanted or not c.adapter:
            return NotApplicable("no tokens added, or full fine-tuning")
        saved = set(c.lora_modules_to_save or ())
        if {"embed_tokens", "lm_head"} <= saved:
            return Pass("embed_tokens and lm_head are trained with the adapter")
        where = _first(pre, "tokens", "special_tokens")
        if model is None or model.tokenizer is None or not model.tokenizer.known_tokens:
            return Info(f"the config adds {', '.join(wanted[:4])}; whether they are new cannot be told offline. New "
                        "tokens need lora_modules_to_save: [embed_tokens, lm_head]", location=where)
        new = [t for t in wanted if not model.tokenizer.knows(t)]
        if not new:
            return Pass("every token the config names is already in the vocabulary")
        return Fail(f"{', '.join(new[:5])} are new tokens, but LoRA does not train embeddings: their embeddings "
                    "stay random (Axolotl: \"Please set lora_modules_to_save to [embed_tokens, lm_head] when using "
                    "an adapter and changing the special tokens\")", fixes=(Fix(
                        "add lora_modules_to_save: [embed_tokens, lm_head]"),), location=where)


class ContextLength(ModelRule):
    """sequence_len does not exceed the model's context length."""

    code = "MDL609"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        pre, model = _model(ctx)
        if model is None or model.shape is None or not model.shape.max_position_embeddings:
            return NotApplicable("the model's context length is unknown")
        limit, wanted = model.shape.max_position_embeddings, pre.plan.sequence_len
        if wanted <= limit:
            return Pass(f"sequence_len {wanted} within the model's {limit}")
        return Fail(f"sequence_len {wanted} is longer than the model's context ({limit} positions): quality drops "
                    "past it unless RoPE scaling is configured", fixes=(Fix(f"sequence_len: {limit}, or set "
                    "model_config.rope_scaling"),), location=pre.at(("sequence_len",)))


class PrequantizedCheckpoint(ModelRule):
    """A checkpoint saved quantized (GPTQ, bitsandbytes, ...) is trained the way it can be."""

    code = "MDL610"

    def check(self, ctx: Context):
        pre, model = _model(ctx)
        c = pre.config
        quant = model.shape.quantization if model and model.shape else None
        if not quant:
            return NotApplicable("the checkpoint is not quantized")
        if not c.adapter:
            return Fail(f"the checkpoint is quantized ({quant}) and the config fine-tunes every weight: quantized "
                        "weights cannot be trained", fixes=(Fix("add adapter: lora (qlora for bitsandbytes 4-bit)"),),
                        location=pre.at(("base_model",)))
        if quant == "gptq" and not c.gptq:
            return Fail("a GPTQ checkpoint without `gptq: true`", fixes=(Fix("add gptq: true"),),
                        severity=Severity.WARNING, location=pre.at(("base_model",)))
        return Pass(f"a {quant} checkpoint trained through {c.adapter}")


RULES = (ModelSource, ModelPresent, RemoteCode, LoraTargetsExist, ChatTemplatePresent, AssistantOnlyMarkers,
         PadToken, TemplateTokens, NewTokensTrained, ContextLength, PrequantizedCheckpoint)
