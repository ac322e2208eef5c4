"""Admin mode: a hidden gesture and a PIN open settings, device health and the outbox (ui/admin/mode.py)."""
