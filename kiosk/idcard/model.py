"""The result of reading one side of a resident ID card, as the form, the review screen and the CLI use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiosk.masking import mask_id_number

FRONT_FIELDS = ("name", "sex", "ethnicity", "birth_date", "address", "id_number")
BACK_FIELDS = ("authority", "valid_from", "valid_until")
# Below this a field is highlighted on the review screen for the person to confirm or correct.
LOW_CONFIDENCE = 0.85

# Warning codes (the i18n key is "ocr.warning.<code>"): picture quality first, then what the rules found.
WARNINGS = (
    "blur",
    "glare",
    "incomplete",
    "photocopy",
    "invalid_validity",
    "expired",
    "id_checksum",
    "id_corrected",
    "id_birth_mismatch",
    "id_sex_mismatch",
    "id_region_mismatch",
    "field_from_id",
    "field_corrected",
    "ethnicity_unknown",
    "field_missing",
    "low_confidence",
)


@dataclass
class CardResult:
    """One side of the card: ``fields`` by name (dates ISO, validity end ISO or 长期), a 0..1 ``confidence``
    per field, warning codes, and (in memory only, for the review screen) the rectified card and portrait."""

    side: str  # "front", "back" or "unknown"
    fields: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    quality: float | None = None  # sharpness score 0..100, as the cloud services report it
    card_image: np.ndarray | None = field(default=None, repr=False)
    portrait_image: np.ndarray | None = field(default=None, repr=False)
    # Per free-text field, the recognised lines (kiosk.idcard.parse.Line) it was read from and how many
    # characters of their joined text are its label: a second recogniser re-reads those lines.
    sources: dict[str, tuple[tuple[Any, ...], int]] = field(default_factory=dict, repr=False, compare=False)

    def warn(self, code: str) -> None:
        if code not in WARNINGS:
            raise ValueError(f"unknown warning code {code!r}")
        if code not in self.warnings:
            self.warnings.append(code)

    def low_confidence_fields(self, threshold: float = LOW_CONFIDENCE) -> list[str]:
        """The fields the person should confirm: low confidence, or expected but missing."""
        expected = FRONT_FIELDS if self.side == "front" else BACK_FIELDS if self.side == "back" else ()
        return [
            name
            for name in expected
            if not self.fields.get(name) or self.confidence.get(name, 0.0) < threshold
        ]

    @property
    def complete(self) -> bool:
        expected = FRONT_FIELDS if self.side == "front" else BACK_FIELDS if self.side == "back" else ()
        return bool(expected) and all(self.fields.get(name) for name in expected)

    def to_json(self, mask: bool = False) -> dict[str, Any]:
        """The JSON shape of ``kiosk ocr``; ``mask`` hides the ID number as every screen must."""
        order = FRONT_FIELDS if self.side == "front" else BACK_FIELDS
        fields = {name: self.fields[name] for name in order if name in self.fields}
        if mask and fields.get("id_number"):
            fields["id_number"] = mask_id_number(fields["id_number"])
        return {
            "side": self.side,
            "fields": fields,
            "confidence": {k: round(v, 3) for k, v in self.confidence.items()},
            "warnings": list(self.warnings),
            "quality": None if self.quality is None else round(self.quality, 1),
        }
