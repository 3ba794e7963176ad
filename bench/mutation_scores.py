"""The mutation score per module of the last `make mutation`, read from mutmut's mutants/ folder.

Score = (killed + timeout) / (every mutant that was checked). "no tests" counts against the score:
a line that no selected test reaches is a rule nothing watches. Run from the repository's root.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

# mutmut's exit codes of a mutant's test run (mutmut/stats.py)
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
          36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}
COLUMNS = ("killed", "timeout", "survived", "no tests", "not checked")


def module_counts(root: Path) -> dict[str, Counter]:
    counts = {}
    for meta in sorted(root.glob("**/*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"].values()
        counts[str(meta.relative_to(root))[: -len(".meta")]] = Counter(STATUS.get(code, "suspicious")
                                                                     for code in codes)
    return counts


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "mutants")
    counts = module_counts(root)
    if not counts:
        sys.exit(f"no mutmut results under {root}/: run `make mutation` first")
    print(f"| module | mutants | {' | '.join(COLUMNS)} | score |")
    print("|---|---:|" + "---:|" * len(COLUMNS) + "---:|")
    for module, count in counts.items():
        checked = sum(n for status, n in count.items() if status not in ("not checked", "skipped"))
        score = f"{100 * (count['killed'] + count['timeout']) / checked:.0f} %" if checked else "-"
        cells = " | ".join(str(count[c]) for c in COLUMNS)
        print(f"| {module} | {sum(count.values())} | {cells} | {score} |")


if __name__ == "__main__":
    main()
