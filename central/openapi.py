"""Print the API's OpenAPI document (committed as docs/api/openapi.json; a test keeps the two equal)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from central.app import create_app


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(f"sqlite:///{Path(tmp) / 'schema.sqlite3'}", Path(tmp) / "keys")
        json.dump(app.openapi(), sys.stdout, indent=2, ensure_ascii=False)
        app.state.engine.dispose()
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
