"""Admin mode without Qt, one module per concern:

- ``pin``: the PIN (a slow hash) and its lockout with back-off
- ``audit``: the audit log (table ``admin_audit``)
- ``settings``: which settings the page edits and which apply at once; rewriting ``kiosk.toml``
- ``enrolment``: enrolling with a central server from the settings page
- ``health``: the health snapshot shared by the health page, the top bar and the heartbeat
- ``receipts``: recent print jobs and the printer's test page
- ``export``: the outbox to a USB stick (``kiosk.sneakernet``'s format)
- ``logs``: log export with personal data scrubbed
- ``usb``: where USB sticks are mounted

Its commands (``kiosk admin …``) are in ``kiosk.cli.admin``. Nothing here logs or stores personal data.
"""
