"""Locked environments: pinned requirements, pylock.toml and a Dockerfile for a target machine."""
