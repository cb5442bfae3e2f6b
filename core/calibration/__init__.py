"""Learning from a user's sales: reading sales files, matching city names, the SalesModel estimator and
its cross-validated evaluation, and the validation against held-out real orders (core.calibration.validation).

Modules: reading (sales files), matching (city names), model (the SalesModel estimator), evaluation
(cross-validation and what it supports), predictions (a calibration's outcome and how it enters a ranking),
validation (against held-out real orders). The public API is re-exported here. Pure domain code (scikit-learn, pandas); may
import core.forecast, core.places and the shared kernel.
"""

from core.calibration.evaluation import (  # noqa: F401
    LOSS_LABELS,
    MIN_CITIES_FOR_CLAIM,
    CVReport,
    accuracy_claim,
    cross_validate,
    fit_model,
    model_sentence,
    prior_sentence,
    rank_correlation,
    select_model,
    single_threaded_blas,
    smoothing_sentence,
)
from core.calibration.matching import (  # noqa: F401
    FEDERAL_DISTRICT,
    PARTICLES,
    REGION_WORDS,
    SYNONYMS,
    MatchError,
    MatchReport,
    aggregate,
    iso_subdivision_names,
    loose_key,
    match_cities,
    match_index,
)
from core.calibration.model import (  # noqa: F401
    BANDWIDTHS_KM,
    CANDIDATES,
    COORD_COLUMNS,
    COORD_COLUMNS_NAMES,
    FEATURES,
    GROUP_COLUMN,
    LOSSES,
    MIN_REGION_CITIES,
    MODELS,
    NEIGHBOURS,
    POPULATION_COLUMN,
    PRIOR_COLUMN,
    REGION_COLUMN,
    SMOOTHING_PRIOR_WEIGHT,
    SalesModel,
    baseline_columns,
    feature_frame,
    full_model,
    population_region_model,
)
from core.calibration.predictions import (  # noqa: F401
    Calibration,
    apply_calibration,
    calibrate,
    calibration_scope,
    matched_sales,
    twin_cities,
)
from core.calibration.reading import (  # noqa: F401
    COLUMN_SYNONYMS,
    MAX_BYTES,
    MAX_COLUMNS,
    MAX_ROWS,
    MEASURES,
    guess_columns,
    read_sales,
    sales_columns,
)
