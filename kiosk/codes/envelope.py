"""The transport around a COSE message: ``PREFIX`` + base45(zlib(COSE)), as the EU DCC defined it.

Base45 (RFC 9285) maps bytes onto the QR alphanumeric alphabet, the densest QR mode for such data. Sizes are
capped before and while inflating, so a small code cannot expand into a large allocation (zlib bomb).
"""

from __future__ import annotations

import zlib

import base45

from kiosk.codes.errors import Rejected

# A version-40 QR holds at most 4,296 alphanumerics, i.e. about 2.9 kB once base45-decoded; inflated codes
# are a few times that at most.
MAX_COMPRESSED = 4096
MAX_INFLATED = 16384


def wrap(prefix: str, cose: bytes) -> str:
    return prefix + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def unwrap(text: str, prefix: str) -> bytes:
    """The COSE bytes of ``text``; zlib compression is mandatory (an uncompressed code is malformed)."""
    if not text.startswith(prefix):
        raise Rejected("code.bad_prefix")
    try:
        compressed = base45.b45decode(text[len(prefix) :])
    except (ValueError, TypeError, UnicodeError):
        raise Rejected("code.bad_encoding") from None
    if len(compressed) > MAX_COMPRESSED:
        raise Rejected("code.too_large")
    return inflate(compressed)


def inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED)
    except zlib.error:
        raise Rejected("code.bad_compression") from None
    if inflater.unconsumed_tail:
        raise Rejected("code.too_large")
    if not inflater.eof or inflater.unused_data:  # truncated, or bytes after the end of the stream
        raise Rejected("code.bad_compression")
    return out
