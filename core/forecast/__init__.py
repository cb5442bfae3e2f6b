"""The forecast engine: product inputs, the city arrays, fulfilment, pricing (one price response), the
evaluation of every city and the ranking; plus the category table, calibration features and what-if.

The package's public API is re-exported here from core.forecast.inputs (the product), .cities (the city
arrays, origins, positions) and .engine (prepare, evaluate, rank) (``from core import forecast``;
``forecast.prepare / evaluate / rank``). Pure domain code: numpy, pandas, pydantic; no database, payments,
LLM or UI. May import core.places (geo, names) and the shared kernel.
"""

from core.forecast.cities import (  # noqa: F401
    AMBIGUITY_RATIO,
    SIGMA_BASE,
    SIGMA_IMPUTED_ADOPTION,
    SIGMA_INHERITED_INCOME,
    WITHIN_COUNTRY_INCOME_SHARE,
    CityArrays,
    Origin,
    city_arrays,
    city_info,
    positions,
    resolve_origin,
    scope_mask,
)
from core.forecast.engine import (  # noqa: F401
    ANCHOR_RATIO,
    BASE_SHARE,
    COMPETITION_SHARE_CUT,
    COMPETITION_WEIGHTS,
    CROSS_BORDER_DAYS,
    DELIVERY_ELASTICITY,
    FLAT_PROFIT_SHARE,
    HEADLINE_COLUMNS,
    LPI_DAYS_FACTOR,
    LPI_REFERENCE,
    MARGIN_FOR_FULL_SCORE,
    MEANINGFUL_DEMAND_SCORE,
    MERCHANT_DENSITY_TOP,
    NON_TARGET_AGE_WEIGHT,
    PAYMENT_FEE_FIXED_USD,
    PAYMENT_FEE_PCT,
    PRICE_CLIP,
    PRICE_FLOOR_MARKUP,
    PRICE_LEVEL_PASS_THROUGH,
    REFERENCE_DELIVERY_DAYS,
    SCORE_DECADES,
    Z80,
    Evaluation,
    Prepared,
    buyer_price,
    evaluate,
    good_price_range,
    order,
    prepare,
    price_anchor_of,
    price_response,
    profit_peak_price,
    rank,
    rank_product,
    transit_days,
)
from core.forecast.inputs import (  # noqa: F401
    CLIMATE_CHOICES,
    CLIMATE_LABELS,
    SHIPPING_PAYER_LABELS,
    SHIPPING_PAYERS,
    STORED_PRODUCT_DEFAULTS,
    ClimateChoice,
    ProductInput,
    ScoreWeights,
    ShippingPayer,
    parse_months,
    stored_product,
    validate_product,
)
