"""``python -m bench [--quick] [--json FILE] [area ...]``: runs every ``bench/bench_*.py`` and prints one table.

Each module's ``run(quick)`` returns ``Result`` rows: our number beside a baseline measured in the
same run, the ratio, the target and pass/fail. The exit code is 0 only if every row passes and
no module crashed. ``bench/README.md`` explains how to read the table.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatshybrid.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("areas", nargs="*", help="bench_<area> modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON to FILE")
    args = parser.parse_args()
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if args.areas:
        unknown = set(args.areas) - {n.removeprefix("bench_") for n in names}
        if unknown:
            parser.error(f"no bench_<area>.py for {sorted(unknown)}; have {[n.removeprefix('bench_') for n in names]}")
        names = [n for n in names if n.removeprefix("bench_") in args.areas]
    backend = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(
        f"bench: {'quick' if args.quick else 'full'} run of {len(names)} module(s) on {platform.node()} "
        f"({os.cpu_count()} cpus, Python {platform.python_version()}, {backend}"
        f"{', Redis' if os.environ.get('REDIS_URL') else ''})",
        flush=True,
    )
    results: list[Result] = []
    failed_modules = []
    for name in names:
        print(f"--- {name}", flush=True)
        started = time.monotonic()
        try:
            results += importlib.import_module(f"bench.{name}").run(quick=args.quick)
        except Exception:
            traceback.print_exc()
            failed_modules.append(name)
        print(f"--- {name}: {time.monotonic() - started:.0f} s", flush=True)
    header = f"{'metric':58} {'ours':>12} {'baseline':>12} {'unit':>8} {'ratio':>7}  {'target':22} result"
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(
            f"{r.metric:58} {r.ours:12.2f} {r.baseline:12.2f} {r.unit:>8} {r.ratio:7.2f}  {r.target:22} "
            f"{'PASS' if r.passed else 'FAIL'}{'  ' + r.note if r.note else ''}"
        )
    for name in failed_modules:
        print(f"{name}: ERROR (see traceback above)")
    passed = sum(r.passed for r in results)
    print(f"\nbench: {passed} of {len(results)} rows pass, {len(failed_modules)} module(s) crashed")
    if args.json:
        rows = [{**dataclasses.asdict(r), "ratio": r.ratio} for r in results]
        Path(args.json).write_text(json.dumps({"results": rows, "crashed": failed_modules}, indent=2))
    return 0 if all(r.passed for r in results) and not failed_modules else 1


if __name__ == "__main__":
    sys.exit(main())
