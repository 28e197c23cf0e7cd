"""Telegram handlers: thin layers that read the update, call domain and store, reply."""
