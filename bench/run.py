#!/usr/bin/env python
"""Entry point of `make bench`. The first argument may name a benchmark (bench/<name>_bench.py
with a main(argv)); without one it runs the ledger benchmark (bench/ledger_bench.py).

    .venv/bin/python bench/run.py                  # the ledger: 10,000 customers, 100,000 postings
    .venv/bin/python bench/run.py --quick          # the same steps at a small size, a smoke run
    .venv/bin/python bench/run.py payments --quick # another benchmark, by name
    make bench BENCH_ARGS=--quick
"""

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    name = "ledger"
    if argv and not argv[0].startswith("-"):
        name, argv = argv[0], argv[1:]
    if not (ROOT / "bench" / f"{name}_bench.py").exists():
        available = sorted(p.stem.removesuffix("_bench") for p in (ROOT / "bench").glob("*_bench.py"))
        print(f"no benchmark {name!r}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.{name}_bench")
    return module.main(argv) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
