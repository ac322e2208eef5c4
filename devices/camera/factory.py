"""The camera source for a command-line or settings spec."""

from __future__ import annotations

import re
from pathlib import Path

from devices.camera import URL_SCHEMES, Camera, CameraSourceInvalid
from devices.camera.demo import DemoCamera
from devices.camera.folder import ImageFolderCamera
from devices.camera.opencv import OpenCvCamera

_URL_RE = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)


def open_camera(spec: str) -> Camera:
    """The camera source for a command-line / config spec (not yet opened).

    ``demo`` → the built-in demo; digits → a camera device index; an existing folder → its images; an existing
    file → a video file; ``rtsp://``, ``http(s)://``, ``file://`` … → a stream or file URL.
    """
    text = spec.strip()
    if not text:
        raise CameraSourceInvalid(
            "empty camera spec; use 'demo', a device index, a folder, a video file or a URL"
        )
    if text.lower() == "demo":
        return DemoCamera()
    if text.isdigit():
        return OpenCvCamera(int(text))
    match = _URL_RE.match(text)
    if match:
        if match.group(1).lower() not in URL_SCHEMES:
            raise CameraSourceInvalid(
                f"unsupported URL scheme {match.group(1)!r} in camera spec; "
                f"use one of {', '.join(URL_SCHEMES)}"
            )
        return OpenCvCamera(text)
    path = Path(text).expanduser()
    if path.is_dir():
        return ImageFolderCamera(path)
    if path.is_file():
        return OpenCvCamera(str(path))
    raise CameraSourceInvalid(
        f"camera spec {spec!r} is neither 'demo', a device index, an existing folder or video file, nor a URL"
    )
