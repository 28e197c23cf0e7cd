"""How audit entries are shown to staff (/audit and the console's Nhật ký)."""

from __future__ import annotations

import json


def detail_text(detail: str | None) -> str:
    """A short plain-text rendering of an audit detail (JSON objects as key=value)."""
    if not detail:
        return ""
    try:
        data = json.loads(detail)
    except ValueError:
        return detail[:200]
    if isinstance(data, dict):
        return ", ".join(f"{k}={v}" for k, v in data.items() if v is not None)[:200]
    return str(data)[:200]
