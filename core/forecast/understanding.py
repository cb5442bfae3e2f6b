"""Product understanding: what the product's name and description say about it (offline, deterministic).

Two shipped tables do the work (docs/methodology.md section 2b):
- ``data/google_product_taxonomy.txt``: Google's product taxonomy (5,595 categories, 2021-09-21). The
  product type is the taxonomy category inside the chosen top-level category whose own name shares the
  most informative words with the product's name (then its description);
- ``data/product_lexicon.csv``: words and phrases with what they signal: climate affinity (cold /
  warm), a calendar season (Christmas, Halloween ...), gender, audience. A row may require a companion
  word (``fan`` counts only beside "desk", "ceiling" ...) or be void beside another (``heater`` not beside
  "water"). Evidence from the product's name counts fully, from its description half, from the words of
  the matched taxonomy path fully: a swimsuit is "Clothing > Swimwear" even when the name says "bathers".
  Compounds ("snowsuit") and "-ing" forms ("skiing") are read as the lexicon's words (``lexicon_reading``).

The analyst sees what was understood with its evidence and confidence, and corrects it on the form; the
forecast uses the corrected values (``ProductInput``). With an LLM configured, the agents may propose
attributes through the same schema (agents/understanding.py), falling back to this result.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, lru_cache

import pandas as pd

from core import paths
from core.text import fold

TAXONOMY_FILE = paths.DATA_DIR / "google_product_taxonomy.txt"
LEXICON_FILE = paths.DATA_DIR / "product_lexicon.csv"
CLIMATES = ("cold", "warm", "none")
CLIMATE_THRESHOLD = 1.5  # evidence points a climate affinity needs (one strong word, or two weaker ones)
FULL_CONFIDENCE_POINTS = 4.0  # evidence points at which a reading is called certain
DESCRIPTION_WEIGHT = 0.5  # a word in the description counts half a word in the name
TAXONOMY_EVIDENCE_WEIGHT = 1.0  # a word of the matched taxonomy path counts as a word of the name
HEAD_NOUN_WEIGHT = (
    2.0  # the name's head noun (its last word before "for", "with" ...) counts twice for the type
)
HEAD_STOP = frozenset(["for", "with", "in", "on", "by", "from", "to", "of", "without"])
STOPWORDS = frozenset(
    [
        "and",
        "or",
        "for",
        "of",
        "the",
        "with",
        "in",
        "on",
        "to",
        "a",
        "an",
        "by",
        "from",
        "s",
        "other",
        "accessories",
        "supplies",
    ]
)
AUDIENCE_AGES = {  # who buys for this audience (target-age bands of ProductInput)
    "kids": ("25_34", "35_44"),  # their parents
    "teens": ("15_24",),
    "seniors": ("55_64", "65plus"),
}


def singular(token: str) -> str:
    """A crude English singular, enough to match "jackets" to "jacket" and "dresses" to "dress"."""
    if len(token) <= 3 or token.endswith(("ss", "us", "is", "mas")):  # "christmas", "xmas" stay
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("ches", "shes", "xes", "sses", "zes")):
        return token[:-2]
    if token.endswith("s"):
        return token[:-1]
    return token


def tokens(text: str | None) -> list[str]:
    """Lower-case, accent-free, singular word tokens."""
    return [singular(t) for t in re.findall(r"[a-z0-9]+", fold(text or "").lower())]


def _f_plural_stems(token: str) -> tuple[str, ...]:
    """The singulars an "-ves" plural may have besides "-ve": "scarves" -> "scarf", "knives" -> "knife"
    (``singular`` gives "scarve"; "gloves" -> "glove" stays right and its extra stems match nothing)."""
    if len(token) > 4 and token.endswith("ve"):
        return token[:-2] + "f", token[:-2] + "fe"
    return ()


def head_noun(name_tokens: list[str]) -> str | None:
    """The name's head noun as English names put it: the last word before a preposition ("Leather gloves
    for winter" -> glove)."""
    head = None
    for t in name_tokens:
        if t in HEAD_STOP:
            if head is not None:
                break
            continue
        if t not in STOPWORDS:
            head = t
    return head


@dataclass(frozen=True)
class TaxonomyNode:
    id: int
    path: str  # "Apparel & Accessories > Clothing > Swimwear"
    top: str  # "Apparel & Accessories"
    leaf_tokens: frozenset[str]
    depth: int

    @property
    def leaf(self) -> str:
        return self.path.rsplit(" > ", 1)[-1]


@cache
def taxonomy() -> tuple[list[TaxonomyNode], dict[str, list[int]], dict[str, float]]:
    """The taxonomy's nodes, an index from leaf word to nodes, and each word's informativeness (idf)."""
    nodes: list[TaxonomyNode] = []
    for line in TAXONOMY_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        ident, _, path = line.partition(" - ")
        parts = path.split(" > ")
        leaf = frozenset(t for t in tokens(parts[-1]) if t not in STOPWORDS)
        nodes.append(TaxonomyNode(int(ident), path, parts[0], leaf, len(parts)))
    index: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(nodes):
        for t in n.leaf_tokens:
            index[t].append(i)
            for alt in _f_plural_stems(t):
                index[alt].append(i)
    idf = {t: math.log(len(nodes) / len(ix)) for t, ix in index.items()}
    return nodes, dict(index), idf


@dataclass(frozen=True)
class LexiconRow:
    phrase: tuple[str, ...]
    attribute: str
    value: str
    weight: float
    requires: frozenset[str]
    unless: frozenset[str]


@cache
def lexicon() -> tuple[LexiconRow, ...]:
    t = pd.read_csv(LEXICON_FILE, keep_default_na=False)
    return tuple(
        LexiconRow(
            tuple(tokens(r.phrase)),
            r.attribute,
            str(r.value),
            float(r.weight),
            frozenset(tokens(r.requires)),
            frozenset(tokens(r.unless)),
        )
        for r in t.itertuples()
    )


@cache
def lexicon_words() -> frozenset[str]:
    """Every word of the lexicon's phrases."""
    return frozenset(w for row in lexicon() for w in row.phrase)


def i_plurals(toks: list[str]) -> list[str]:
    """For matching the lexicon: ``singular`` keeps words ending in "is" (tennis, chassis, analysis), and so a
    plural of a word ending in "i" (skis, bikinis) kept its "s" and missed the lexicon's "ski" and "bikini".
    A word ending in "is" is read as its "-i" singular when that singular is a lexicon word."""
    words = lexicon_words()
    return [t[:-1] if t.endswith("is") and t[:-1] in words else t for t in toks]


MIN_COMPOUND_PART = 3  # letters each part of a split compound needs (keeps "fan" + "cy", "ski" + "rt" whole)


@cache
def climate_words() -> frozenset[str]:
    """The one-word phrases of the lexicon's climate rows."""
    return frozenset(r.phrase[0] for r in lexicon() if r.attribute == "climate" and len(r.phrase) == 1)


@cache
def compound_heads() -> tuple[str, ...]:
    """The climate words a compound may begin with (longer than MIN_COMPOUND_PART letters), the longest
    first: a compound is split after its longest climate word."""
    return tuple(
        sorted((w for w in climate_words() if len(w) > MIN_COMPOUND_PART), key=lambda w: (-len(w), w))
    )


def compounds(toks: list[str]) -> list[str]:
    """English writes many climate products as one word (snowsuit, snowshoes, beachwear, knitwear): a word
    that is not a lexicon word itself, begins with a climate word (``compound_heads``) and ends in a word of
    the product taxonomy is read as those two words ("snowsuit" -> "snow", "suit"). Both parts must be
    words, so "surface" stays whole ("ace" is no taxonomy word)."""
    words, known = lexicon_words(), taxonomy()[2]
    out: list[str] = []
    for t in toks:
        split = None
        if t not in words:
            for w in compound_heads():
                rest = t[len(w) :]
                if t.startswith(w) and len(rest) >= MIN_COMPOUND_PART and rest in known:
                    split = [w, rest]
                    break
        out.extend(split or [t])
    return out


def ing_forms(toks: list[str]) -> list[str]:
    """An activity named by its "-ing" form is the lexicon's word for it: "skiing" -> "ski", "surfing" ->
    "surf", "sledding" -> "sled" (a doubled last consonant dropped), when that stem is a one-word climate
    phrase and the "-ing" word is not a lexicon word itself ("swimming" has its own row)."""
    words, climate = lexicon_words(), climate_words()
    out = []
    for t in toks:
        stem = t[:-3] if t.endswith("ing") and t not in words else ""
        if stem not in climate and len(stem) > 2 and stem[-1] == stem[-2]:
            stem = stem[:-1]
        out.append(stem if stem in climate else t)
    return out


def lexicon_reading(toks: list[str], split_compounds: bool = True) -> list[str]:
    """The tokens as the lexicon reads them: "-i" plurals (``i_plurals``), "-ing" forms (``ing_forms``) and,
    for climate and the other attributes, split compounds (``compounds``). The type synonyms read whole
    words (``split_compounds=False``): a split compound names a climate, not a type ("glovebox")."""
    read = ing_forms(i_plurals(toks))
    return compounds(read) if split_compounds else read


@dataclass(frozen=True)
class Understanding:
    """What the name and description say: each attribute with its confidence (0-1) and the words behind it."""

    climate: str = "none"  # cold | warm | none
    climate_confidence: float = 0.0
    climate_evidence: tuple[str, ...] = ()
    season_months: tuple[int, ...] = ()  # calendar months of a calendar season (Christmas: 11, 12); () = none
    season_evidence: tuple[str, ...] = ()
    product_type: str = ""  # a Google product taxonomy path, "" when no category word matched
    product_type_id: int | None = None
    product_type_confidence: float = 0.0
    product_type_evidence: tuple[str, ...] = ()
    gender: str = "any"  # women | men | any
    audience: str = "adults"  # adults | kids | teens | seniors
    suggested_ages: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line an analyst reads: what was understood, how sure, from which words."""
        parts = [f"type: {self.product_type or 'not recognised (the category stands)'}"]
        if self.climate != "none":
            parts.append(
                f"{self.climate}-weather product ({_pct(self.climate_confidence)} sure; "
                f"from {', '.join(self.climate_evidence)})"
            )
        else:
            parts.append("no climate affinity")
        if self.season_months:
            parts.append(
                f"calendar season {', '.join(map(str, self.season_months))} (from {', '.join(self.season_evidence)})"
            )
        if self.gender != "any":
            parts.append(f"for {self.gender}")
        if self.audience != "adults":
            parts.append(f"audience {self.audience}")
        return "; ".join(parts)


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _matches(row: LexiconRow, toks: list[str]) -> int:
    """How many times the row's phrase occurs in the tokens (0 when its companion rule fails). The tokens are
    the lexicon's reading of the text (``lexicon_reading``), made once per text by the callers."""
    present = set(toks)
    if row.requires and not (row.requires & present):
        return 0
    if row.unless & present:
        return 0
    n = len(row.phrase)
    return sum(1 for i in range(len(toks) - n + 1) if tuple(toks[i : i + n]) == row.phrase)


TYPE_SYNONYM_IDF = (
    6.0  # a lexicon "type" row (swimsuit -> Swimwear) scores as a rare shared word per weight point
)


def _product_type(
    name_toks: list[str], desc_toks: list[str], top: str | None
) -> tuple[TaxonomyNode | None, float, tuple[str, ...]]:
    nodes, index, idf = taxonomy()
    by_id = {n.id: i for i, n in enumerate(nodes)}
    weights: dict[str, float] = defaultdict(float)
    head = head_noun(name_toks)
    for t in name_toks:
        weights[t] = max(weights[t], HEAD_NOUN_WEIGHT if t == head else 1.0)
    for t in desc_toks:
        weights[t] = max(weights[t], DESCRIPTION_WEIGHT)
    scores: dict[int, float] = defaultdict(float)
    for t, w in weights.items():
        for i in index.get(t, ()):
            if top is None or nodes[i].top == top:
                scores[i] += w * idf[t]
    # Words the taxonomy names differently (a swimsuit is "Swimwear", boots are "Shoes"): the lexicon's type rows.
    synonyms: dict[int, list[str]] = defaultdict(list)
    lex_name, lex_desc = lexicon_reading(name_toks, False), lexicon_reading(desc_toks, False)
    for row in lexicon():
        if row.attribute != "type" or int(row.value) not in by_id:
            continue
        for toks, w in ((lex_name, 1.0), (lex_desc, DESCRIPTION_WEIGHT)):
            if _matches(row, toks):
                i = by_id[int(row.value)]
                if top is None or nodes[i].top == top:
                    scores[i] += w * row.weight * TYPE_SYNONYM_IDF * math.sqrt(len(nodes[i].leaf_tokens))
                    synonyms[i].append(" ".join(row.phrase))
                break
    if not scores:
        return None, 0.0, ()

    # Most informative overlap, relative to the leaf's length (a leaf of one matched word is a full match);
    # ties go to the broader category (the words do not say which narrower one), then the lower id (stable).
    def key(i: int) -> tuple[float, int, int]:
        return (round(scores[i] / math.sqrt(len(nodes[i].leaf_tokens)), 9), -nodes[i].depth, -nodes[i].id)

    best = max(scores, key=key)
    node = nodes[best]
    if synonyms.get(best):
        return node, 1.0, tuple(sorted(set(synonyms[best])))
    matched = tuple(sorted(t for t in node.leaf_tokens if t in weights))
    coverage = len(matched) / max(len(node.leaf_tokens), 1)
    from_name = any(t in name_toks for t in matched)
    return node, round(coverage * (1.0 if from_name else DESCRIPTION_WEIGHT), 2), matched


@lru_cache(maxsize=4096)
def understand(name: str, description: str | None = None, category: str | None = None) -> Understanding:
    """Read the product's attributes from its name and description (module docstring). Deterministic."""
    name_toks, desc_toks = tokens(name), tokens(description)
    node, type_conf, type_words = _product_type(name_toks, desc_toks, category)
    path_toks = tokens(node.path.split(" > ", 1)[-1]) if node else []
    points: dict[tuple[str, str], float] = defaultdict(float)
    evidence: dict[tuple[str, str], list[str]] = defaultdict(list)
    places = (
        (lexicon_reading(name_toks), 1.0),
        (lexicon_reading(desc_toks), DESCRIPTION_WEIGHT),
        (lexicon_reading(path_toks), TAXONOMY_EVIDENCE_WEIGHT),
    )
    for row in lexicon():
        for toks, w in places:
            hits = _matches(row, toks)
            if hits:
                points[(row.attribute, row.value)] += w * row.weight
                word = " ".join(row.phrase)
                if word not in evidence[(row.attribute, row.value)]:
                    evidence[(row.attribute, row.value)].append(word)
                break  # a phrase counts once, from the strongest place it appears in

    def best(attribute: str) -> tuple[str | None, float]:
        cands = {v: p for (a, v), p in points.items() if a == attribute}
        if not cands:
            return None, 0.0
        v = max(sorted(cands), key=lambda k: cands[k])
        return v, cands[v] - max([p for k, p in cands.items() if k != v], default=0.0)

    climate, margin = best("climate")
    climate = climate if climate and margin >= CLIMATE_THRESHOLD else "none"
    season, s_margin = best("season")
    season_months = tuple(int(m) for m in season.split()) if season and s_margin >= CLIMATE_THRESHOLD else ()
    gender, g_margin = best("gender")
    audience, a_margin = best("audience")
    audience = audience if audience and a_margin >= CLIMATE_THRESHOLD else "adults"
    return Understanding(
        climate=climate,
        climate_confidence=round(min(margin / FULL_CONFIDENCE_POINTS, 1.0), 2) if climate != "none" else 0.0,
        climate_evidence=tuple(evidence[("climate", climate)]) if climate != "none" else (),
        season_months=season_months,
        season_evidence=tuple(evidence[("season", season)]) if season_months else (),
        product_type=node.path if node else "",
        product_type_id=node.id if node else None,
        product_type_confidence=type_conf,
        product_type_evidence=type_words,
        gender=gender if gender and g_margin >= CLIMATE_THRESHOLD and audience == "adults" else "any",
        audience=audience,
        suggested_ages=AUDIENCE_AGES.get(audience, ()),
        scores={f"{a}:{v}": round(p, 2) for (a, v), p in sorted(points.items())},
    )
