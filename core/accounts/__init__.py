"""Accounts: users and sessions (core.accounts.users), signing in and the login throttle (logins), the monthly quota
(quota) and what an administrator may do (admin), re-exported here;, plan tiers
(tiers), API keys (apikeys), rate limits (ratelimit), white-label branding (branding) and marketplace
connections (connections). May import core.db, core.render (value types) and the shared kernel; never
core.billing or core.services.
"""

from core.accounts.admin import (  # noqa: F401
    UserRow,
    admin_list_users,
    admin_set_role,
    admin_set_tier,
    admin_update,
    list_users,
)
from core.accounts.logins import (  # noqa: F401
    COOKIE_KEY_META,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    LOCKOUT,
    MAX_FAILED_LOGINS,
    cookie_key,
    credentials,
    ensure_demo_accounts,
    failed_logins,
    is_throttled,
    record_login,
    remove_demo_accounts,
)
from core.accounts.quota import (  # noqa: F401
    check_quota,
    forecasts_used,
    next_reset,
    period_of,
    quota_error,
    reserve_forecast,
)
from core.accounts.users import (  # noqa: F401
    MAX_PASSWORD_BYTES,
    MIN_PASSWORD_CHARS,
    ROLES,
    UserInfo,
    admin_only,
    as_utc,
    audit,
    create_user,
    end_sessions,
    get_user,
    hash_password,
    normalise_email,
    password_problem,
    recent_audit,
    session_is_current,
    set_password_hash,
    set_role,
    set_tier,
    update_user,
)
