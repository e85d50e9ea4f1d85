"""Renderers of the one findings list: terminal text, the JSON envelope, and the CI formats (junit, github,
sarif, markdown), each a module of its own: a report in, text out."""
