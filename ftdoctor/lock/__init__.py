"""Locked environments for a target machine: `ftdoctor lock` chooses exact pins from the matrix, judged by the
same rules as `check`, and writes them as a pinned requirements file, PEP 751 pylock.toml or a Dockerfile."""
