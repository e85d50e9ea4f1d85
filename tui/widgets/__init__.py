"""Reusable widgets. They post messages; the screens decide what happens."""
