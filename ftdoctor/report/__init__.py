"""Renderers of the one findings list: terminal text, the JSON envelope (and, per issue, CI formats)."""
