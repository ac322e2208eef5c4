"""Code formats the checkpoint understands, behind one registry that turns any text into a verdict."""

from kiosk.codes.plain import default_registry
from kiosk.codes.registry import CodeFormat, CodeRegistry, CodeResult, Verdict

__all__ = ["CodeFormat", "CodeRegistry", "CodeResult", "Verdict", "default_registry"]
