"""View models and the runners seam: plain data and functions, no Textual, so tests need no terminal."""
