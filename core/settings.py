"""One typed settings object, built once from environment variables and .streamlit/secrets.toml.

Every field has a description; tests/test_docs.py checks that each is documented in README.md.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core import paths

SECRETS_FILE = paths.ROOT / ".streamlit" / "secrets.toml"


class Settings(BaseSettings):
    """Application settings. Environment variables win over secrets.toml."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    database_url: str = Field(
        default=f"sqlite:///{paths.VAR_DIR / 'app.db'}",
        description="SQLAlchemy URL of the database; e.g. postgresql+psycopg://user:pw@host/db.",
    )
    jobs_database_url: str | None = Field(
        default=None,
        description="Where the background-job queue lives (default: beside a SQLite DATABASE_URL, "
        "<name>-jobs.db; inside a PostgreSQL one, schema dbos).",
    )
    jobs_worker_id: str = Field(
        default="worker-1",
        description="Id of a job worker: a restarted worker resumes the jobs its id had started.",
    )
    calibration_job_rows: int = Field(
        default=5000,
        ge=0,
        description="A calibration of a sales file with more rows than this runs as a background job "
        "(0: every calibration of a file).",
    )
    jobs_concurrency: int = Field(default=1, ge=1, le=16, description="Jobs one worker runs at once.")
    jobs_poll_s: float = Field(
        default=0.5, gt=0, le=60, description="How often a job worker looks for new jobs, seconds."
    )
    openai_api_key: SecretStr | None = Field(
        default=None, description="API key of OpenAI or an OpenAI-compatible server; enables the LLM writer."
    )
    openai_base_url: str | None = Field(
        default=None, description="Base URL of an OpenAI-compatible server (default: OpenAI)."
    )
    openai_model: str = Field(default="gpt-4o-mini", description="Chat model used by the LLM writer.")
    openai_timeout_s: float = Field(default=20.0, description="Timeout of one LLM request, seconds.")
    stripe_secret_key: SecretStr | None = Field(
        default=None, description="Stripe secret key; with price IDs enables Checkout Sessions."
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None, description="Signing secret of the Stripe webhook endpoint (whsec_...)."
    )
    stripe_api_base: str | None = Field(
        default=None, description="Override of Stripe's API base URL (tests point it at a local fake)."
    )
    shopify_api_base: str | None = Field(
        default=None, description="Override of the Shopify shop URL (tests point it at a local fake)."
    )
    etsy_api_base: str | None = Field(
        default=None,
        description="Override of Etsy's API and token URL base (tests point it at a local fake).",
    )
    amazon_api_base: str | None = Field(
        default=None,
        description="Override of the SP-API endpoint and LWA token URL base (tests point it at a local fake).",
    )
    google_trends_base: str | None = Field(
        default=None, description="Override of the Google Trends host (tests point it at a local fake)."
    )
    stripe_price_basic: str | None = Field(default=None, description="Stripe price ID of the Basic plan.")
    stripe_price_pro: str | None = Field(default=None, description="Stripe price ID of the Pro plan.")
    stripe_price_master: str | None = Field(default=None, description="Stripe price ID of the Master plan.")
    stripe_price_white_label: str | None = Field(
        default=None, description="Stripe price ID of the white-label add-on (Master, subscription)."
    )
    stripe_link_basic: str | None = Field(default=None, description="Stripe Payment Link of the Basic plan.")
    stripe_link_pro: str | None = Field(default=None, description="Stripe Payment Link of the Pro plan.")
    stripe_link_master: str | None = Field(
        default=None, description="Stripe Payment Link of the Master plan."
    )
    cookie_key: SecretStr | None = Field(
        default=None, description="Key that signs the login cookie; required outside demo mode."
    )
    connector_key: SecretStr | None = Field(
        default=None,
        description="Fernet key that encrypts marketplace credentials at rest; required outside demo mode.",
    )
    google_client_id: str | None = Field(
        default=None, description="OAuth client id of the Google sign-in (with the secret: the button shows)."
    )
    google_client_secret: SecretStr | None = Field(default=None, description="OAuth client secret of Google.")
    google_discovery_url: str = Field(
        default="https://accounts.google.com/.well-known/openid-configuration",
        description="Google's OpenID Connect discovery document (tests point it at a local fake).",
    )
    github_client_id: str | None = Field(
        default=None,
        description="OAuth app client id of the GitHub sign-in (with the secret: the button shows).",
    )
    github_client_secret: SecretStr | None = Field(default=None, description="OAuth app secret of GitHub.")
    github_oauth_base: str = Field(
        default="https://github.com", description="GitHub's OAuth base URL (tests point it at a local fake)."
    )
    github_api_base: str = Field(
        default="https://api.github.com",
        description="GitHub's API base URL (tests point it at a local fake).",
    )
    oauth_redirect_url: str | None = Field(
        default=None,
        description="Where Google / GitHub send the browser back (register it with them); default APP_BASE_URL.",
    )
    app_base_url: str = Field(
        default="http://localhost:8501", description="Public URL of the app (Stripe return URLs)."
    )
    online_basemap: bool = Field(
        default=False, description="Draw an online Carto basemap under the maps (needs internet)."
    )
    login_sleep_s: float = Field(
        default=0.7, description="Pause before the login form so the login cookie can load (0 in tests)."
    )
    demo_mode: bool = Field(
        default=False,
        description="Demo mode: seeded demo accounts, simulated payments. Off unless set (`make run` sets it).",
    )
    demo_force: bool = Field(
        default=False, description="Allow demo mode although APP_BASE_URL is not localhost (a public demo)."
    )
    log_level: str = Field(
        default="INFO", description="Level of the app's log (DEBUG, INFO, WARNING, ERROR)."
    )
    api_max_body_bytes: int = Field(
        default=1_000_000,
        ge=1_000,
        description="Largest request body the HTTP API "
        "reads, in bytes; a larger one is refused (413) before it is read.",
    )
    app_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port on which the Streamlit "
        "app serves its Prometheus metrics (off when unset; the API serves /metrics).",
    )
    sentry_dsn: SecretStr | None = Field(
        default=None,
        description="Sentry DSN: unhandled errors are reported, "
        "scrubbed of secrets and personal data (off when unset).",
    )
    sentry_environment: str = Field(default="production", description="Sentry environment name.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=cls._secrets_file())
        return (init_settings, env_settings, toml)

    @staticmethod
    def _secrets_file() -> Path:
        return SECRETS_FILE

    @property
    def is_local(self) -> bool:
        host = urlsplit(self.app_base_url).hostname or ""
        return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")

    @property
    def is_demo(self) -> bool:
        """Demo mode only when asked for (DEMO_MODE=true), and on a public URL only when forced too:
        a deployment that merely lacks Stripe keys is never open to the README's demo passwords."""
        return self.demo_mode and (self.is_local or self.demo_force)


def load_settings(**overrides: object) -> Settings:
    """Build the settings once; keyword overrides win (tests use them)."""
    return Settings(**overrides)
