"""Parley: open-source, self-hosted live audio rooms."""

__version__ = "0.1.0"
