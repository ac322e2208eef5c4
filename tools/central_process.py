"""`kiosk-central serve` as a child process on a loopback port, for the tests and benches that kill it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`kiosk-central serve` as a child process, so that tests and the fault soak can kill and
    restart it."""

    def __init__(
        self,
        database_url: str,
        key_dir: Path,
        port: int | None = None,
        options: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.key_dir = key_dir
        self.options = options or []
        self.env = env or {}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "central.cli",
            "serve",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--database",
            self.database_url,
            "--key-dir",
            str(self.key_dir),
            *self.options,
        ]
        self.proc = subprocess.Popen(cmd, env=os.environ | {"PYTHONUNBUFFERED": "1"} | self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("central server exited at start") from None
                time.sleep(0.05)
        raise RuntimeError("central server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None
