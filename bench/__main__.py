"""Run a benchmark by name: ``python -m bench <name> [args]``; with no name, list them."""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import bench

_NOT_BENCHMARKS = {"common", "__main__"}


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(bench.__file__).parent)])
                  if m.name not in _NOT_BENCHMARKS and not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    names = available()
    if not argv or argv[0] in {"-h", "--help", "list"}:
        print("usage: python -m bench <name> [args]   (or: python -m bench all)")
        print("benchmarks: " + (", ".join(names) or "(none yet)"))
        return 0
    targets = names if argv[0] == "all" else [argv[0]]
    status = 0
    for name in targets:
        if name not in names:
            print(f"bench: no benchmark named {name!r}; have: {', '.join(names)}", file=sys.stderr)
            return 2
        module = importlib.import_module(f"bench.{name}")
        status |= module.main(argv[1:] if argv[0] != "all" else []) or 0
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
