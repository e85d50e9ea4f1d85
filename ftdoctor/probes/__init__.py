"""Probes look at the machine and return facts. They never judge and never print."""
