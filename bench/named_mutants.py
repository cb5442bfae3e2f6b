"""The mutants issue 22 names, applied one at a time to a scratch copy of the tree; each must make the tests
that name its behaviour fail. Prints killed / survived per mutant (make named-mutants; takes a few minutes).

A mutant is (file, exact text, replacement, tests to run). Run from the project root."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = [
    (
        "the demand score's price term ignores buyer-paid freight",
        "core/forecast/engine.py",
        "price_term = -e * np.log(paid / prep.reference_price)",
        "price_term = -e * np.log(price / prep.reference_price)",
        ["tests/test_named_mutants.py", "tests/test_forecast.py"],
    ),
    (
        "competition no longer cuts the share",
        "core/forecast/engine.py",
        "share=BASE_SHARE * (1 - COMPETITION_SHARE_CUT * competition / 100),",
        "share=BASE_SHARE * (1 - 0 * competition / 100),",
        ["tests/test_named_mutants.py", "tests/test_forecast.py"],
    ),
    (
        "target ages ignored",
        "core/forecast/engine.py",
        "profile = profile * (mask + (1 - mask) * NON_TARGET_AGE_WEIGHT)",
        "profile = profile * 1.0",
        ["tests/test_named_mutants.py", "tests/test_forecast.py"],
    ),
    (
        "the logistics index ignored in delivery time",
        "core/forecast/fulfilment.py",
        "lpi_factor = np.clip(LPI_REFERENCE / ca.logistics, *LPI_DAYS_FACTOR)",
        "lpi_factor = np.clip(LPI_REFERENCE / LPI_REFERENCE, *LPI_DAYS_FACTOR)",
        ["tests/test_named_mutants.py", "tests/test_forecast.py"],
    ),
    (
        "the price floor 1.05 -> 1.0001",
        "core/forecast/pricing.py",
        "PRICE_FLOOR_MARKUP = 1.05",
        "PRICE_FLOOR_MARKUP = 1.0001",
        ["tests/test_forecast.py", "tests/test_docs.py"],
    ),
    (
        "the good-price range ignores its bounds",
        "core/forecast/pricing.py",
        "low, high = np.maximum(left * peak_paid - freight, lo), np.minimum(right * peak_paid - freight, hi)",
        "low, high = left * peak_paid - freight, right * peak_paid - freight",
        ["tests/test_named_mutants.py", "tests/test_forecast.py"],
    ),
    (
        "the market profiler's demographic match off by x100",
        "agents/market_profiler.py",
        "demographic_match=100 * float(r.age_fit),",
        "demographic_match=float(r.age_fit),",
        ["tests/test_named_mutants.py", "tests/test_agents.py"],
    ),
    (
        "a deep report marked paid without checking payment status",
        "core/billing/deep_reports.py",
        'if session.get("payment_status") not in billing.PAID_STATUSES:',
        "if False:",
        ["tests/test_named_mutants.py", "tests/test_billing.py"],
    ),
    (
        "a past_due subscription downgraded at once",
        "core/billing/subscriptions.py",
        'u.subscription_tier = tier if status in ("active", "trialing", "past_due") else "basic"',
        'u.subscription_tier = tier if status in ("active", "trialing") else "basic"',
        ["tests/test_named_mutants.py", "tests/test_billing.py"],
    ),
    (
        'the CSV guard dropping "\\r"',
        "core/render/exports.py",
        'FORMULA_PREFIXES = ("=", "+", "-", "@", "\\t", "\\r")',
        'FORMULA_PREFIXES = ("=", "+", "-", "@", "\\t")',
        ["tests/test_exports.py", "tests/test_reliability.py"],
    ),
]


def main() -> int:
    python = sys.executable
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "tree"
        ignore = shutil.ignore_patterns(".venv", ".git", "mutants", "var", "test-artifacts", "__pycache__")
        shutil.copytree(ROOT, work, ignore=ignore)
        for label, rel, old, new, tests in MUTANTS:
            path = work / rel
            original = path.read_text(encoding="utf-8")
            if original.count(old) != 1:
                results.append((label, "NOT APPLIED (text not found once)"))
                continue
            path.write_text(original.replace(old, new), encoding="utf-8")
            run = subprocess.run(
                [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-k", "not postgres", *tests],
                cwd=work,
                capture_output=True,
                text=True,
            )
            path.write_text(original, encoding="utf-8")
            failed = [ln for ln in run.stdout.splitlines() if ln.startswith("FAILED")]
            if run.returncode == 1 and failed:  # a test failed: killed, and by which
                verdict = f"killed by {failed[0][7:].split(' - ')[0]}"
            else:  # 0: every test passed; anything else (a collection error) proves nothing either
                verdict = "SURVIVED" if run.returncode == 0 else f"NOT RUN (pytest exit {run.returncode})"
            results.append((label, verdict))
            print(f"{label:60s} {results[-1][1]}", flush=True)
    killed = sum(r.startswith("killed") for _, r in results)
    print(f"{killed} of {len(results)} named mutants killed")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
