"""Hardware side of the kiosk: camera sources and QR decoders (OpenCV, zxing-cpp), kept out of ``kiosk``."""
