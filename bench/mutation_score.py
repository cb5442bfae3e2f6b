"""Summarise a `mutmut run` (make mutate): mutants killed / all tested, per file and in total."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter, defaultdict


def main() -> int:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"], capture_output=True, text=True
    )
    per_file: dict[str, Counter] = defaultdict(Counter)
    for line in out.stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        module = re.split(r"\.x[_\u01c1]", name, maxsplit=1)[0]  # "core.sales.x_f__mutmut_3" -> core.sales
        per_file[module][status.strip()] += 1
    total = Counter()
    for module, counts in sorted(per_file.items()):
        total.update(counts)
        tested = sum(v for k, v in counts.items() if k in ("killed", "survived", "timeout", "suspicious"))
        killed = counts["killed"] + counts["timeout"]
        print(f"{module:40s} killed {killed:4d} of {tested:4d} ({100 * killed / max(tested, 1):5.1f} %)")
    tested = sum(v for k, v in total.items() if k in ("killed", "survived", "timeout", "suspicious"))
    killed = total["killed"] + total["timeout"]
    print(
        json.dumps(
            {
                "killed": killed,
                "tested": tested,
                "score": round(killed / max(tested, 1), 3),
                "statuses": dict(total),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
