"""The training side of ftdoctor: the config schema, the preflight (`ftdoctor train config.yml --dry-run`,
`ftdoctor check --config`), the memory estimate, and the tiny local model builder.

Nothing here imports torch, transformers or another heavy library at module level; the few functions that
need them import them inside.
"""
