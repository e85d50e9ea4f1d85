"""The knowledge behind `ftdoctor explain`, as data: one TOML file per area (see ../catalog.py)."""
