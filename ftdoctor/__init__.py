"""ftdoctor: find what will break a fine-tuning run before the GPU time is spent.

Importing this package must stay cheap and must work on a broken machine: nothing here imports torch,
transformers, bitsandbytes, flash-attn or deepspeed.
"""

__version__ = "0.1.0"
