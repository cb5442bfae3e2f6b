"""How steeply the prior's per-person demand rises with regional income inside countries, for a given
WITHIN_COUNTRY_INCOME_SHARE (docs/methodology.md section 2, "Within a country"; docs/validation.md).

    python bench/within_country.py                      # the shipped share
    python bench/within_country.py --share 1.0 0.3      # what the data build would give at other shares
    python bench/within_country.py --truth ../shared/validation/olist_br_city_orders.csv   # + Spearman

For each share: the adoption shift and the spend term are recomputed from the shipped city table (the
country's measured share is recovered by undoing the build's shift), then, per country, the log of
expected units per person is regressed on the log regional income ratio with log city size held fixed
(domestic fulfilment, a $25 Home & Garden product). With --truth, the Spearman of the prior with real
orders (ships from Sao Paulo, as Olist's sellers). Validation files are read from the given path only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import paths
from core.forecast import WITHIN_COUNTRY_INCOME_SHARE, city_arrays, evaluate, prepare, validate_product

COUNTRIES = ["US", "DE", "GB", "FR", "IT", "ES", "PL", "TR", "RU", "MX", "BR", "IN", "ID", "CN"]


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def cities_at(share: float) -> pd.DataFrame:
    """The shipped table as the build and the engine would see it at this share."""
    c = pd.read_parquet(paths.CITIES_FILE)
    slope = json.loads((paths.DATA_DIR / "build_summary.json").read_text())["fit_online_buyers_slope"]
    ratio, size = c["region_income_ratio"].to_numpy(), c["city_size_factor"].to_numpy()
    shipped = WITHIN_COUNTRY_INCOME_SHARE
    country = _logit(c["online_buyers_pct"].to_numpy() / 100) - slope * (
        shipped * np.log(ratio) + np.log(size)
    )
    c["online_buyers_pct"] = 100 / (1 + np.exp(-(country + slope * (share * np.log(ratio) + np.log(size)))))
    return c


def elasticities(share: float) -> dict[str, float]:
    ca = city_arrays(cities_at(share), within_country_share=share)
    ev = evaluate(
        prepare(ca, validate_product(name="Home goods", category="Home & Garden", price=25, unit_cost=10))
    )
    df = pd.DataFrame(
        {
            "iso": ca.iso2,
            "lpp": np.log(ev.columns["expected_units_month"] / ca.population),
            "lr": np.log(ca.frame["region_income_ratio"].to_numpy()),
            "ls": np.log(ca.city_size),
        }
    )
    out = {}
    for iso in COUNTRIES:
        d = df[df.iso == iso]
        if d.lr.std() > 0:
            x = np.c_[np.ones(len(d)), d.lr, d.ls]
            out[iso] = round(float(np.linalg.lstsq(x, d.lpp, rcond=None)[0][1]), 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--share", type=float, nargs="*", default=[WITHIN_COUNTRY_INCOME_SHARE])
    parser.add_argument("--truth", default=None, help="orders per city (geonameid, orders), e.g. Olist")
    args = parser.parse_args()
    for share in args.share:
        line = f"share {share:.2f}: " + ", ".join(f"{k} {v:.2f}" for k, v in elasticities(share).items())
        if args.truth:
            from core.calibration.validation import read_truth, validate

            ca = city_arrays(cities_at(share), within_country_share=share)
            p = validate_product(
                name="Home goods",
                category="Home & Garden",
                price=25,
                unit_cost=10,
                ships_from="Sao Paulo, BR",
            )
            r = validate(
                read_truth(Path(args.truth).read_bytes(), ca, "truth"), evaluate(prepare(ca, p)), splits=2
            )
            line += f" | Spearman prior {r.prior_spearman:.3f}, population {r.population_spearman:.3f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
