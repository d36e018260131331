"""Benchmark: `Engine.assess_many` on a DataFrame against `idmaj score` on the same data.

    python python/bench.py [--applicants 100000] [--seed 5] [--runs 3] [--threads N] [--cli PATH]

Generates a scenario with `idmaj generate` (the release binary; build it with
`cargo build --release`), reads its applicants.csv with pandas, then alternates the two:
the command line scoring the CSV into a CSV file, and `assess_many(frame)` turning the
DataFrame into a DataFrame of assessments. Each is timed in wall-clock and CPU seconds
(CPU is steadier on a shared machine); the medians and their ratio are printed. Both use
every core unless `--threads` says how many.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas

REPO = Path(__file__).resolve().parent.parent


def default_cli() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "release" / "idmaj"


def cpu_seconds(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def timed(run, who: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds of `run()` (CPU of this process or of its children)."""
    c0, t0 = cpu_seconds(who), time.perf_counter()
    run()
    return time.perf_counter() - t0, cpu_seconds(who) - c0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--applicants", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--cli", type=Path, default=default_cli())
    args = ap.parse_args()
    threads = [] if args.threads is None else ["--threads", str(args.threads)]
    if args.threads is not None:
        # Read by the engine's thread pool when it starts, at the first batch.
        os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    import idmaj

    if not args.cli.exists():
        print(f"{args.cli} not found: run `cargo build --release` first", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "scenario"
        subprocess.run(
            [args.cli, "generate", "--applicants", str(args.applicants),
             "--seed", str(args.seed), "--out", data],
            check=True, capture_output=True,
        )
        engine = idmaj.Engine.load(data)
        t0 = time.perf_counter()
        frame = pandas.read_csv(data / "applicants.csv")
        read_wall = time.perf_counter() - t0

        cli, py = [], []
        for _ in range(args.runs):
            out = Path(tmp) / "scores.csv"
            cli.append(timed(
                lambda: subprocess.run(
                    [args.cli, "score", data, "--out", out, *threads],
                    check=True, capture_output=True,
                ),
                resource.RUSAGE_CHILDREN,
            ))
            result = {}
            py.append(timed(
                lambda: result.setdefault("frame", engine.assess_many(frame)),
                resource.RUSAGE_SELF,
            ))
            assert len(result["frame"]) == args.applicants
            del result

    def median(runs, i):
        return statistics.median(r[i] for r in runs)

    n = f"{args.applicants:,}"
    used = args.threads or os.cpu_count()
    print(f"{n} applicants, {used} threads on {os.cpu_count()} cores, {args.runs} runs (medians)")
    print(f"pandas.read_csv (not counted)      {read_wall:6.2f} s")
    print(f"idmaj score (CLI, CSV to CSV)      {median(cli, 0):6.2f} s wall {median(cli, 1):6.2f} s CPU")
    print(f"Engine.assess_many (DataFrame)     {median(py, 0):6.2f} s wall {median(py, 1):6.2f} s CPU")
    print(f"ratio                              {median(py, 0) / median(cli, 0):6.2f}x wall"
          f" {median(py, 1) / median(cli, 1):6.2f}x CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
