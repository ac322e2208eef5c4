"""What the kiosk and the central server say to each other, and the only code they share.

- ``items``: the items a kiosk uploads (built field by field, never a stored row passed through), the
  statuses the server answers with, appointment slots and bookings
- ``sealing``: sealed boxes to the central key and device signatures (Ed25519 over canonical JSON)
- ``export``: the header of the sealed file carried on a USB stick from a station with no link

Nothing here imports the kiosk or the server; both import this.
"""
