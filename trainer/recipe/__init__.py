"""ftdoctor's bundled trainer: one guarded recipe (`FineTuneRecipe`) on TRL and PEFT.

The launching process (`ftdoctor train`) never imports torch: it writes a `Job` into the run directory and
starts the worker processes, which build the recipe from it. The pieces:

    job.py        what one run is asked to do (serialized into the run directory, read by every rank)
    methods.py    which TRL trainer runs each method, detected in the installed TRL at run time
    formats.py    Axolotl dataset `type`s mapped to TRL's formats (pure, row by row)
    data.py       local files / save_to_disk folders / the local hub cache → `datasets.Dataset`
    tokens.py     chat template, pad token, added tokens
    arguments.py  the config's keys → the TRL config's keyword arguments (pure)
    callbacks.py  progress bar, tokens/s, memory, metrics.jsonl, the "what actually ran" check
    recipe.py     the recipe: setup / train / cleanup
    merge.py      the adapter merged into a 16-bit copy of the base
"""
