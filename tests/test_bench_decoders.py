"""bench.decoders end to end on a few pictures: the candidate filter and the oracle counts in the results."""

from __future__ import annotations

import json
from pathlib import Path

from bench import decoders


def test_named_candidates_only_and_reads_of_oracle_readable_renders(tmp_path: Path, capsys) -> None:
    out = tmp_path / "decoders.json"
    args = ["--photos", str(tmp_path), "--renders", "4", "--frames", "1", "--repeat", "1"]
    assert decoders.main([*args, "--decoders", "zxing,cascade", "--out", str(out)]) == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    assert [r["decoder"] for r in results["decoders"]] == ["zxing", "cascade"]
    cascade = results["decoders"][1]["reads"]
    renders = cascade["renders seed 29"]
    # Every render the oracle reads is counted, and the decoder's reads of them never exceed them.
    assert 1 <= renders["readable_total"] <= renders["total"] == 4
    assert renders["readable_read"] <= renders["readable_total"]
    # Each miss is sorted as lost (the oracle cannot read it either) or missed (the oracle reads it).
    why = results["cascade_misses"]["renders seed 29"]
    assert why["renders"] == 4 and why["lost"] == 4 - renders["readable_total"]
    assert why["missed"] == renders["readable_total"] - renders["readable_read"]
    printed = capsys.readouterr().out
    assert "| oracle |" in printed and "| cascade |" in printed and "| zxing-global |" not in printed
