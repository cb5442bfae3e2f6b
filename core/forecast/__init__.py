"""The forecast engine: product inputs, the city arrays, fulfilment, pricing (one price response), the
evaluation of every city and the ranking; plus the category table, calibration features and what-if.

The package's public API is re-exported here from core.forecast.inputs (the product), .cities (the city
arrays, origins, positions), .engine (prepare, evaluate), .fulfilment, .pricing and .ranking (rank) (``from core import forecast``;
``forecast.prepare / evaluate / rank``). Pure domain code: numpy, pandas, pydantic; no database, payments,
LLM or UI. May import core.places (geo, names) and the shared kernel.
"""

from core.forecast.cities import (  # noqa: F401
    AMBIGUITY_RATIO,
    CITY_SIZE_INCOME_EXPONENT,
    SIGMA_BASE,
    SIGMA_IMPUTED_ADOPTION,
    SIGMA_INHERITED_INCOME,
    WITHIN_COUNTRY_INCOME_SHARE,
    CityArrays,
    Origin,
    city_arrays,
    city_info,
    match_city,
    positions,
    resolve_origin,
    scope_mask,
)
from core.forecast.engine import (  # noqa: F401
    BASE_SHARE,
    COMPETITION_SHARE_CUT,
    COMPETITION_WEIGHTS,
    MARGIN_FOR_FULL_SCORE,
    MEANINGFUL_DEMAND_SCORE,
    MERCHANT_DENSITY_TOP,
    NON_TARGET_AGE_WEIGHT,
    SCORE_DECADES,
    Z80,
    Evaluation,
    Prepared,
    buyer_price,
    evaluate,
    prepare,
)
from core.forecast.fulfilment import (  # noqa: F401
    CROSS_BORDER_DAYS,
    DELIVERY_ELASTICITY,
    FOOD_CATEGORY_ID,
    LPI_DAYS_FACTOR,
    LPI_REFERENCE,
    PAYMENT_FEE_FIXED_USD,
    PAYMENT_FEE_PCT,
    REFERENCE_DELIVERY_DAYS,
    Fulfilment,
    duty_free,
    fulfilment,
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
from core.forecast.pricing import (  # noqa: F401
    ANCHOR_RATIO,
    FLAT_PROFIT_SHARE,
    PRICE_CLIP,
    PRICE_FLOOR_MARKUP,
    PRICE_LEVEL_PASS_THROUGH,
    good_price_range_of,
    price_anchor_of,
    price_response,
    profit_peak_price,
    recommended_price,
)
from core.forecast.ranking import (  # noqa: F401
    HEADLINE_COLUMNS,
    good_price_range,
    order,
    rank,
    rank_product,
)
