"""Run every benchmark one after the other and print issue 17's figures beside their targets.

    .venv/bin/python bench/run_all.py            # `make bench`
    .venv/bin/python bench/run_all.py --quick    # fewer repeats (a smoke run, not for figures)
    .venv/bin/python bench/run_all.py --only board,scan

Each benchmark runs in its own process with $BENCH_SUMMARY naming a file where it appends
its targets (bench/summary.py); its own output goes to bench/out/run_all/<name>.log. The
load average is printed before and after, since the figures are only comparable on a
quiet machine. Each ratio comes from one run of one benchmark, so noise mostly cancels;
absolute latencies (the board's p95) do not, and say so. Exit status 1 when a target is
missed or a benchmark fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PG = "pg"


def benchmarks(quick: bool) -> dict[str, list[str]]:
    """name -> arguments of bench/<script>; the ones with issue 17 targets first."""
    repeat = "8" if quick else "30"
    runs = "1" if quick else "2"
    return {
        "board": ["bench_board.py", "--repeat", repeat],
        "board-pg": ["bench_board.py", "--postgres", "--repeat", repeat],
        "scan": ["bench_scan.py", "--reuse", "--repeat", "2" if quick else "5"],
        "import": ["bench_import.py", "--runs", runs],
        "import-pg": ["bench_import.py", "--database", PG, "--runs", runs],
        "dispatch": ["bench_dispatch.py", "--concurrency", "4", "--baseline",
                     *(["--count", "3000", "--caps", ""] if quick else [])],
        "dispatch-pg": ["bench_dispatch.py", "--database", PG, "--concurrency", "4", "--baseline",
                        "--caps", "", *(["--count", "3000"] if quick else [])],
        # their own files under bench/out: the /tmp defaults are shared with other checkouts
        "evaluation": ["bench_evaluation.py", "--db", "bench/out/eval-1m.db", *(["--runs", "2"] if quick else [])],
        "papers": ["bench_papers.py", "--db", "bench/out/papers-1m.db",
                   *(["--repeat", "5", "--runs", "1"] if quick else [])],
        "aliyun": ["bench_aliyun.py", *(["--count", "1000", "--caps", ""] if quick else [])],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats: a smoke run, not for figures")
    parser.add_argument("--only", default="", help="comma-separated names: " + ", ".join(benchmarks(False)))
    args = parser.parse_args()
    chosen = benchmarks(args.quick)
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - set(chosen)
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        chosen = {name: chosen[name] for name in wanted}
    logs = BENCH / "out" / "run_all"
    logs.mkdir(parents=True, exist_ok=True)
    summary = logs / "summary.jsonl"
    summary.unlink(missing_ok=True)
    env = {**os.environ, "BENCH_SUMMARY": str(summary),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    print(f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}", flush=True)
    failed = []
    for name, (script, *script_args) in chosen.items():
        started = time.perf_counter()
        command = [sys.executable, str(BENCH / script), *script_args]
        with (logs / f"{name}.log").open("w", encoding="utf-8") as log:
            code = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
        status = "ok" if code == 0 else f"FAILED (exit {code}, see {logs / f'{name}.log'})"
        if code:
            failed.append(name)
        print(f"{name:12} {time.perf_counter() - started:7.1f} s  {status}  "
              f"[{' '.join(['bench/' + script, *script_args])}]", flush=True)
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    figures = [json.loads(line) for line in summary.read_text(encoding="utf-8").splitlines()] if summary.exists() else []
    print()
    print("| measure | measured | target | | command |")
    print("|---|---:|---:|---|---|")
    for figure in figures:
        sign = "≥" if figure["at_least"] else "≤"
        note = f" ({figure['note']})" if figure["note"] else ""
        print(f"| {figure['measure']}{note} | {figure['value']:.2f}{figure['unit']} | {sign} {figure['target']:g}"
              f"{figure['unit']} | {'PASS' if figure['met'] else 'MISS'} | `{figure['command']}` |")
    missed = [figure for figure in figures if not figure["met"]]
    print(f"\n{len(figures) - len(missed)} of {len(figures)} targets met; benchmarks failed: {', '.join(failed) or 'none'}")
    return 1 if missed or failed else 0


if __name__ == "__main__":
    sys.exit(main())
