"""The package index, asked the way pip would ask it: its simple JSON API (PEP 691) at the index pip is
configured with, and HTTP range requests into wheel files (what pip's lazy wheels do). Nothing here names
an index host: the address always comes from pip's configuration or pip's own default."""
