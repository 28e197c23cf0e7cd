"""Loa: the Telegram bot of a local information and outreach office."""

__version__ = "0.1.0"
