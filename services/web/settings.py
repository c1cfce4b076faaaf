"""The web's settings from STINT_* variables: where Keycloak and the four APIs are, and how sessions are kept."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.config import ENVIRONMENTS, ConfigError
from shared.rate_limits import RateLimits, load_rate_limits

SERVICE_URLS = {
    "listing": "http://127.0.0.1:8001",
    "application": "http://127.0.0.1:8002",
    "certification": "http://127.0.0.1:8003",
    "notification": "http://127.0.0.1:8004",
}
# Each service's worker answers /readyz and /metrics here (STINT_WORKER_PORT), read by the admin's health page.
WORKER_URLS = {
    "listing": "http://127.0.0.1:9101",
    "application": "http://127.0.0.1:9102",
    "certification": "http://127.0.0.1:9103",
    "notification": "http://127.0.0.1:9104",
}
LOCAL_HOSTS = ("http://127.0.0.1", "http://localhost")
# Placeholders people paste from examples; production must never sign sessions with one of them.
KNOWN_DEFAULT_SECRETS = {"", "change-me", "changeme", "secret", "dev", "stint", "stint-dev-secret"}
MIN_PRODUCTION_SECRET_BYTES = 32


@dataclass(frozen=True)
class WebSettings:
    """Everything the web process reads from its environment."""

    env: str = "dev"
    web_url: str = "http://127.0.0.1:8000"
    keycloak_url: str = "http://127.0.0.1:8080"
    keycloak_public_url: str = ""  # where browsers reach Keycloak, when the web reaches it elsewhere (compose)
    realm: str = "stint"
    client_id: str = "stint-web"
    client_secret: str = ""
    session_secret: str = ""
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_db: str = ""
    secure_cookies: bool = True
    session_hours: float = 8.0
    service_urls: Mapping[str, str] = field(default_factory=lambda: dict(SERVICE_URLS))
    worker_urls: Mapping[str, str] = field(default_factory=lambda: dict(WORKER_URLS))
    service: str = "web"
    rate_limits: RateLimits = field(default_factory=RateLimits)

    @property
    def issuer(self) -> str:
        """The realm's OpenID Connect issuer."""
        return f"{self.keycloak_url.rstrip('/')}/realms/{self.realm}"

    @property
    def browser_keycloak_url(self) -> str:
        """Keycloak as people's browsers reach it (sign-in pages, sign-out, the account console)."""
        return (self.keycloak_public_url or self.keycloak_url).rstrip("/")

    @property
    def database_name(self) -> str:
        """The web's own database (sessions only); STINT_MONGO_DB may hold a `{service}` placeholder."""
        return self.mongo_db.format(service=self.service) if self.mongo_db else "stint_web"


def load_web_settings(environ: Mapping[str, str] | None = None, **overrides) -> WebSettings:
    """Read the web's settings from the environment and check them."""
    env = os.environ if environ is None else environ
    web_url = env.get("STINT_WEB_URL", "http://127.0.0.1:8000").rstrip("/")
    local_dev = web_url.startswith(LOCAL_HOSTS) and env.get("STINT_ENV", "dev") != "production"
    secure_default = "false" if local_dev else "true"
    values = dict(
        env=env.get("STINT_ENV", "dev"),
        web_url=web_url,
        keycloak_url=env.get("STINT_KEYCLOAK_URL", "http://127.0.0.1:8080").rstrip("/"),
        keycloak_public_url=env.get("STINT_KEYCLOAK_PUBLIC_URL", "").rstrip("/"),
        realm=env.get("STINT_KEYCLOAK_REALM", "stint"),
        client_id=env.get("STINT_WEB_CLIENT_ID", "stint-web"),
        client_secret=env.get("STINT_WEB_CLIENT_SECRET", ""),
        session_secret=env.get("STINT_WEB_SESSION_SECRET", ""),
        mongo_url=env.get("STINT_MONGO_URL", "mongodb://127.0.0.1:27017/"),
        mongo_db=env.get("STINT_MONGO_DB", ""),
        secure_cookies=env.get("STINT_WEB_SECURE_COOKIES", secure_default).lower() in ("1", "true", "yes"),
        service_urls={
            name: env.get(f"STINT_{name.upper()}_URL", default).rstrip("/") for name, default in SERVICE_URLS.items()
        },
        worker_urls={
            name: env.get(f"STINT_{name.upper()}_WORKER_URL", default).rstrip("/")
            for name, default in WORKER_URLS.items()
        },
    )
    values["rate_limits"] = load_rate_limits(env, values["env"])
    values.update(overrides)
    settings = WebSettings(**values)
    check_web_settings(settings)
    return settings


def check_web_settings(settings: WebSettings) -> None:
    """Raise ConfigError when the web cannot run safely with these settings."""
    if settings.env not in ENVIRONMENTS:
        raise ConfigError(f"STINT_ENV must be one of {', '.join(ENVIRONMENTS)}, not {settings.env!r}")
    if not settings.session_secret:
        raise ConfigError("STINT_WEB_SESSION_SECRET is required; `make up` generates one in .env")
    if not settings.client_secret:
        raise ConfigError("STINT_WEB_CLIENT_SECRET is required (the stint-web client's secret in Keycloak)")
    if not settings.mongo_url.startswith(("mongodb://", "mongodb+srv://")):
        raise ConfigError("STINT_MONGO_URL must be a mongodb:// URL")
    if settings.env == "production":
        secret = settings.session_secret
        if secret.lower() in KNOWN_DEFAULT_SECRETS or len(secret.encode()) < MIN_PRODUCTION_SECRET_BYTES:
            raise ConfigError(
                f"production needs a random STINT_WEB_SESSION_SECRET of {MIN_PRODUCTION_SECRET_BYTES}+ bytes"
            )
        # Browsers treat http://localhost as secure (Secure cookies work there): trying compose out needs no TLS.
        if not settings.web_url.startswith(("https://", "http://localhost:", "http://127.0.0.1:")):
            raise ConfigError("production needs an https STINT_WEB_URL")
        if not settings.secure_cookies:
            raise ConfigError("production always sends cookies Secure: remove STINT_WEB_SECURE_COOKIES=false")
