"""Masking of personal fields for screens, receipts and logs (data minimisation)."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """张三 → 张*, 张小三 → 张*三, 欧阳小明 → 欧**明; Latin names keep first and last letter."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(id_number: str) -> str:
    """Keep the first 3 and last 4 characters: enough for staff to compare with the card, not to identify."""
    text = id_number.strip()
    if len(text) <= 7:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]
