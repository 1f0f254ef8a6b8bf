"""``python -m bench [--quick] [area ...]``: runs every ``bench/bench_*.py`` and prints one table."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatshybrid.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("areas", nargs="*", help="bench_<area> modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if args.areas:
        names = [n for n in names if n.removeprefix("bench_") in args.areas]
    results: list[Result] = []
    failed_modules = []
    for name in names:
        print(f"--- {name}", flush=True)
        try:
            results += importlib.import_module(f"bench.{name}").run(quick=args.quick)
        except Exception:
            traceback.print_exc()
            failed_modules.append(name)
    header = f"{'metric':58} {'ours':>12} {'baseline':>12} {'unit':>8} {'ratio':>7}  {'target':22} result"
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(
            f"{r.metric:58} {r.ours:12.2f} {r.baseline:12.2f} {r.unit:>8} {r.ratio:7.2f}  {r.target:22} "
            f"{'PASS' if r.passed else 'FAIL'}{'  ' + r.note if r.note else ''}"
        )
    for name in failed_modules:
        print(f"{name}: ERROR (see traceback above)")
    return 0 if all(r.passed for r in results) and not failed_modules else 1


if __name__ == "__main__":
    sys.exit(main())
