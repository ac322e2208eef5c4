"""Domain core of the kiosk: codes, checkpoint rules, store, settings. Imports no Qt."""

__version__ = "0.1.0"
