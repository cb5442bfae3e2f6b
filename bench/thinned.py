"""How the calibration's two losses rank held-out cities as sales get sparse (docs/methodology.md, section 17).

Reads a truth file (``geonameid, orders``, e.g. ../shared/validation/olist_br_city_orders.csv, never
copied into the repository), keeps each order with probability p (binomial thinning, seed 0), and runs
the validation's held-out-half comparison with each loss forced and with the per-file choice calibrate()
makes. Prints one row per p: the share of cities with no order left, the Spearman of each model on the
held-out halves, the prior's and the population-only model's (with the loss the per-file choice made).

    PYTHONPATH=. python bench/thinned.py --truth ../shared/validation/olist_br_city_orders.csv
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from core import calibration
from core.calibration import validation
from core.cli.commands import database as _database
from core.forecast import evaluate, prepare, validate_product
from core.places.citydata import city_arrays_from_db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", required=True, type=Path)
    ap.add_argument("--keep", type=float, nargs="+", default=[1.0, 0.1, 0.02, 0.005])
    ap.add_argument("--splits", type=int, default=6)
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    ca = city_arrays_from_db(_database())
    ev = evaluate(
        prepare(ca, validate_product(name="validation", category="Home & Garden", price=25, unit_cost=10))
    )
    truth_rows = pd.read_csv(args.truth, usecols=["geonameid", "orders"])
    print(
        f"{'kept':>6} {'no order':>9} {'chosen':>7} "
        + " ".join(f"{loss:>8}" for loss in calibration.LOSSES)
        + f" {'prior':>7} {'pop-only':>9} {'region GLM':>11}"
    )
    for keep in args.keep:
        orders = np.random.default_rng(0).binomial(truth_rows["orders"].to_numpy(int), keep)
        data = truth_rows.assign(orders=orders).to_csv(index=False).encode()
        truth = validation.read_truth(data, ca)
        runs = {
            name: validation.validate(truth, ev, splits=args.splits, losses=losses)
            for name, losses in [
                ("chosen", calibration.LOSSES),
                *((loss, (loss,)) for loss in calibration.LOSSES),
            ]
        }
        scores = {name: r.calibrated_half_spearman for name, r in runs.items()}
        result = runs[
            "chosen"
        ]  # the prior and the population-only model (with the chosen loss) as calibrate() has them
        print(
            f"{keep:>6.3f} {np.mean(orders == 0):>9.2f} {scores['chosen']:>7.3f} "
            + " ".join(f"{scores[loss]:>8.3f}" for loss in calibration.LOSSES)
            + f" {result.prior_half_spearman:>7.3f} {result.population_half_spearman:>9.3f}"
            + f" {result.population_region_half_spearman:>11.3f}"
        )


if __name__ == "__main__":
    main()
