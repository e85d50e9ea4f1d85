"""Smoke runners: small scripts run as files by the *diagnosed* interpreter, one process each.

Each uses the standard library and the package under test only (ftdoctor need not be installed where they
run), prints JSON event lines on stdout (`_protocol.py`), and ends with one result line. A runner that
crashes or hangs leaves its last `stage` line behind, which says where.
"""
