"""The mutation score per module of the last `make mutation`, read from mutmut's mutants/ folder.

Score = (killed + timeout) / (every mutant that was checked). "no tests" counts against the score:
a line that no selected test reaches is a rule nothing watches. Run from the repository's root;
give mutmut's name patterns (as `make mutation ONLY=...` does) to count only those mutants.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections import Counter
from pathlib import Path

# mutmut's exit codes of a mutant's test run (mutmut/stats.py)
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
          36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}
COLUMNS = ("killed", "timeout", "survived", "no tests", "not checked")


def module_counts(root: Path, patterns: list[str]) -> dict[str, Counter]:
    counts = {}
    for meta in sorted(root.glob("**/*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        chosen = [code for name, code in codes.items()
                  if not patterns or any(fnmatch.fnmatch(name, p) for p in patterns)]
        if chosen:
            counts[str(meta.relative_to(root))[: -len(".meta")]] = Counter(STATUS.get(c, "suspicious") for c in chosen)
    return counts


def score(count: Counter) -> str:
    checked = sum(n for status, n in count.items() if status not in ("not checked", "skipped"))
    return f"{100 * (count['killed'] + count['timeout']) / checked:.0f} %" if checked else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="mutmut mutant names, * allowed (default: all)")
    parser.add_argument("--root", type=Path, default=Path("mutants"), help="mutmut's folder (default: mutants)")
    args = parser.parse_args()
    counts = module_counts(args.root, args.patterns)
    if not counts:
        sys.exit(f"no mutmut results under {args.root}/: run `make mutation` first")
    print(f"| module | mutants | {' | '.join(COLUMNS)} | score |")
    print("|---|---:|" + "---:|" * len(COLUMNS) + "---:|")
    for module, count in counts.items():
        print(f"| {module} | {sum(count.values())} | {' | '.join(str(count[c]) for c in COLUMNS)} | {score(count)} |")


if __name__ == "__main__":
    main()
