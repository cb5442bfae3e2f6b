"""Product understanding from name and description (core.forecast.understanding; issue 23)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.advisors import product_analysis as pa
from core.forecast import understanding as und
from core.forecast.categories import all_categories
from core.paths import ROOT

LABELLED = ROOT / "tests" / "data" / "labelled_products.csv"
MIN_ACCURACY = 0.9


def test_climate_accuracy_on_the_labelled_list() -> None:
    """75 products an analyst might type, labelled by hand (tests/data/labelled_products.csv)."""
    t = pd.read_csv(LABELLED)
    got = [und.understand(r.name, None, r.category).climate for r in t.itertuples()]
    accuracy = float((pd.Series(got) == t["climate"]).mean())
    assert accuracy >= MIN_ACCURACY, accuracy
    # no cold product read as warm or the reverse: a miss is at worst "none"
    assert not [
        n for n, g, want in zip(t["name"], got, t["climate"], strict=True) if {g, want} == {"cold", "warm"}
    ]


@pytest.mark.parametrize(
    ("name", "category", "leaf"),
    [
        ("Down winter jacket", "Apparel & Accessories", "Coats & Jackets"),
        ("Women's swimsuit", "Apparel & Accessories", "Swimwear"),
        ("Insulated snow boots", "Apparel & Accessories", "Shoes"),
        ("Electric space heater", "Home & Garden", "Space Heaters"),
        ("Ski goggles", "Sporting Goods", "Ski & Snowboard Goggles"),
        ("Ceramic coffee mug", "Home & Garden", "Mugs"),
        ("Wireless noise cancelling headphones", "Electronics", "Headphones"),
        ("Wool coat", "Apparel & Accessories", "Coats & Jackets"),
        ("Lab coat", "Apparel & Accessories", "White Coats"),
        ("Wool scarf", "Apparel & Accessories", "Scarves"),
        ("Leather gloves", "Apparel & Accessories", "Gloves & Mittens"),
        ("Kitchen knife", "Home & Garden", "Kitchen Knives"),
    ],
)
def test_product_type_is_a_taxonomy_leaf_inside_the_category(name, category, leaf) -> None:
    u = und.understand(name, None, category)
    assert u.product_type.startswith(category + " > ") and u.product_type.endswith(leaf)
    nodes, _, _ = und.taxonomy()
    assert u.product_type_id in {n.id for n in nodes if n.path == u.product_type}


def test_description_counts_less_than_the_name() -> None:
    in_name = und.understand("Winter gloves", None, "Apparel & Accessories")
    in_description = und.understand("Gloves", "for winter", "Apparel & Accessories")
    assert in_name.scores["climate:cold"] == pytest.approx(
        in_description.scores["climate:cold"] + 2 * (1 - und.DESCRIPTION_WEIGHT)
    )
    assert in_description.scores["climate:cold"] < in_name.scores["climate:cold"]


def test_companion_and_void_words() -> None:
    """``fan`` is warm only beside a word such as "desk"; ``heater`` not beside "water"."""
    assert und.understand("Desk fan", None, "Home & Garden").climate == "warm"
    assert und.understand("Football fan scarf", None, "Apparel & Accessories").climate != "warm"
    assert und.understand("Water heater element", None, "Home & Garden").climate == "none"
    assert und.understand("Patio heater", None, "Home & Garden").climate == "cold"


def test_calendar_season_gender_and_audience() -> None:
    xmas = und.understand("Christmas tree ornaments", None, "Home & Garden")
    assert xmas.season_months == (11, 12) and "christmas" in xmas.season_evidence
    assert und.understand("Women's running jacket", None, "Apparel & Accessories").gender == "women"
    kids = und.understand("Kids rain boots", None, "Apparel & Accessories")
    assert kids.audience == "kids" and kids.suggested_ages == und.AUDIENCE_AGES["kids"]


@settings(max_examples=40, deadline=None)
@given(
    st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "Zs", "P"]), max_size=80),
    st.sampled_from([c.name for c in all_categories()]),
)
def test_any_text_reads_without_error_and_evidence_is_in_it(text, category) -> None:
    u = und.understand(text or "x", None, category)
    assert u.climate in und.CLIMATES and 0 <= u.climate_confidence <= 1
    words = set(und.tokens(text))
    path_words = set(und.tokens(u.product_type))
    for phrase in u.climate_evidence:
        assert set(phrase.split()) <= words | path_words
    assert u.product_type == "" or u.product_type.startswith(category)


def test_the_analysts_sentence_says_what_was_read_and_corrected() -> None:
    r = pa.understanding_report("Down winter jacket", "", "Apparel & Accessories", "none", (), None)
    text = pa.understanding_sentence(r)
    assert (
        "cold-weather product" in text and "'winter'" in text and "you set it to no climate affinity" in text
    )
    assert r["climate_corrected"] and r["climate_read"] == "cold" and r["climate_used"] == "none"
    same = pa.understanding_report("Leather wallet", "", "Apparel & Accessories", "none", (), None)
    assert not same["climate_corrected"] and "no climate affinity" in pa.understanding_sentence(same)


def test_the_head_noun_is_the_last_word_before_a_preposition() -> None:
    assert und.head_noun(und.tokens("Leather gloves for winter")) == "glove"
    assert und.head_noun(und.tokens("Women's wool coat")) == "coat"
    assert und.head_noun(und.tokens("Case for iPhone")) == "case"
    assert und.head_noun([]) is None
    assert und.head_noun(und.tokens("Without")) is None  # a preposition is never the head


def test_the_head_noun_decides_the_type_over_a_modifier() -> None:
    """A camera tripod is a tripod and a ceramic plant pot a pot: the head noun weighs HEAD_NOUN_WEIGHT times
    a modifier (with weight 1 they read as "Cameras" and "Plants")."""
    assert und.understand("Camera tripod", None, "Cameras & Optics").product_type.endswith(
        "Tripods & Monopods"
    )
    assert und.understand("Ceramic plant pot", None, "Home & Garden").product_type.endswith("Pots & Planters")


def test_f_plurals_of_the_taxonomy_match_their_singular() -> None:
    assert und._f_plural_stems("scarve") == ("scarf", "scarfe")
    assert und._f_plural_stems("knive")[1] == "knife"
    assert und._f_plural_stems("coat") == ()
    assert und.understand("Silk scarf", None, "Apparel & Accessories").product_type.endswith("Scarves")


UNSEEN = ROOT / "tests" / "data" / "unseen_products.csv"


@pytest.mark.parametrize("which", ["dev", "holdout"])
def test_climate_accuracy_on_products_typed_without_a_category(which: str) -> None:
    """174 more products, read with no category (every top-level category may hold the type). "dev" (102)
    were written and read while the compound and "-ing" readings were added (session 14: 81 -> 98 right);
    "holdout" (72) were written before that change and read only before and after it (63 -> 67 right)."""
    t = pd.read_csv(UNSEEN).query("set == @which")
    got = [und.understand(n).climate for n in t["name"]]
    accuracy = float((pd.Series(got, index=t.index) == t["climate"]).mean())
    assert accuracy >= MIN_ACCURACY, accuracy
    assert not [
        n for n, g, want in zip(t["name"], got, t["climate"], strict=True) if {g, want} == {"cold", "warm"}
    ]


def test_one_word_compounds_split_after_a_climate_word_into_two_words() -> None:
    assert und.compounds(["snowsuit", "beachwear", "surface", "snowboard", "glovebox"]) == [
        *("snow", "suit", "beach", "wear", "surface", "snowboard", "glove", "box")
    ]  # "surface": "ace" is no taxonomy word; "snowboard" is a lexicon word itself
    assert und.understand("Toddler snowsuit").climate == "cold"
    assert und.understand("Car glovebox organiser").climate == "none"  # the split "box" voids "glove"


@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=14), max_size=6))
@settings(max_examples=200, deadline=None)
def test_a_compound_split_keeps_every_letter_and_starts_with_a_climate_word(words: list[str]) -> None:
    out = und.compounds(words)
    assert "".join(out) == "".join(words)
    for part in [p for p in out if p not in words]:
        assert part in und.compound_heads() or part in und.taxonomy()[2]


def test_an_ing_form_reads_as_its_climate_word() -> None:
    assert und.ing_forms(["skiing", "sledding", "surfing", "ceiling", "swimming", "heating"]) == [
        *("ski", "sled", "surf", "ceiling", "swimming", "heating")
    ]
    assert und.understand("Neck gaiter for skiing").climate == "cold"


def test_the_matched_taxonomy_path_counts_as_a_word_of_the_name() -> None:
    """ "Sun lounger": no climate word in the name; the matched path's "Pool & Spa" carries it, with
    TAXONOMY_EVIDENCE_WEIGHT times the lexicon's weight for "pool"."""
    u = und.understand("Sun lounger")
    assert "Pool & Spa" in u.product_type and u.climate == "warm"
    pool = next(r for r in und.lexicon() if r.phrase == ("pool",) and r.attribute == "climate")
    assert u.scores == {"climate:warm": pytest.approx(und.TAXONOMY_EVIDENCE_WEIGHT * pool.weight)}
