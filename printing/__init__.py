"""Receipts: layout, PDF and thermal-printer renderings, and the print job queue."""
