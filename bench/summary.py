"""One figure of a benchmark beside its target (issue 17), printed and, under
`bench/run_all.py`, appended to the file named by $BENCH_SUMMARY for its table."""

from __future__ import annotations

import json
import os
import sys


def record(measure: str, value: float, target: float, *, unit: str = "x", at_least: bool = False,
           note: str = "") -> bool:
    """Print `measure`: value against target (≤ target, or ≥ with `at_least`); True when met."""
    met = value >= target if at_least else value <= target
    sign = "≥" if at_least else "≤"
    print(f"TARGET {measure}: {value:.2f}{unit} (target {sign} {target:g}{unit}) {'PASS' if met else 'MISS'}"
          f"{' — ' + note if note else ''}", flush=True)
    path = os.environ.get("BENCH_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as sink:
            sink.write(json.dumps({"measure": measure, "value": value, "target": target, "unit": unit,
                                   "at_least": at_least, "met": met, "note": note,
                                   "command": " ".join(["bench/" + os.path.basename(sys.argv[0]), *sys.argv[1:]])},
                                  ensure_ascii=False) + "\n")
    return met
