"""Typed settings from STINT_* environment variables; fail fast on missing or unsafe values."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

ENVIRONMENTS = ("dev", "test", "production")


class ConfigError(RuntimeError):
    """A required setting is missing or unsafe; the process must not start."""


@dataclass(frozen=True)
class Settings:
    """Everything a service process reads from its environment."""

    service: str
    env: str = "dev"
    kafka_bootstrap: str = "127.0.0.1:9092"
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_db: str = ""
    auth_secret: str = ""
    auth_public_key: str = ""
    auth_jwks_url: str = ""
    auth_issuer: str = ""
    auth_audience: str = ""
    public_url: str = "http://127.0.0.1:8003"
    smtp_url: str = ""
    signing_key_dir: str = ""
    topic_prefix: str = ""
    # Topics the workers create: replicas of each partition, and how many must hold a write before it counts
    # (1/1 on a dev broker; 3/2 on a production cluster, so one broker may die without losing or refusing a write).
    kafka_replication_factor: int = 1
    kafka_min_insync_replicas: int = 1
    # Publish events as soon as the write that stores them is done (shared/publisher.py), the relay as the safety
    # net; off (STINT_PUBLISH_ON_WRITE=0), only the relay publishes.
    publish_on_write: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def database_name(self) -> str:
        """The MongoDB database this service owns (STINT_MONGO_DB may hold a `{service}` placeholder)."""
        return self.mongo_db.format(service=self.service) if self.mongo_db else f"stint_{self.service}"

    def topic(self, service: str) -> str:
        """The Kafka topic a service publishes to (prefixed, so test runs can share a broker)."""
        from shared.events import TOPICS

        return self.topic_prefix + TOPICS[service]


def load_settings(service: str, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Read settings for `service` from the environment and check them."""
    env = os.environ if environ is None else environ
    values = dict(
        service=service,
        env=env.get("STINT_ENV", "dev"),
        kafka_bootstrap=env.get("STINT_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        mongo_url=env.get("STINT_MONGO_URL", "mongodb://127.0.0.1:27017/"),
        mongo_db=env.get("STINT_MONGO_DB", ""),
        auth_secret=env.get("STINT_AUTH_SECRET", ""),
        auth_public_key=env.get("STINT_AUTH_PUBLIC_KEY", ""),
        auth_jwks_url=env.get("STINT_AUTH_JWKS_URL", ""),
        auth_issuer=env.get("STINT_AUTH_ISSUER", ""),
        auth_audience=env.get("STINT_AUTH_AUDIENCE", ""),
        public_url=env.get("STINT_PUBLIC_URL", "http://127.0.0.1:8003"),
        smtp_url=env.get("STINT_SMTP_URL", ""),
        signing_key_dir=env.get("STINT_SIGNING_KEY_DIR", ""),
        topic_prefix=env.get("STINT_TOPIC_PREFIX", ""),
        kafka_replication_factor=_count(env, "STINT_KAFKA_REPLICATION_FACTOR"),
        kafka_min_insync_replicas=_count(env, "STINT_KAFKA_MIN_INSYNC_REPLICAS"),
        publish_on_write=_switch(env, "STINT_PUBLISH_ON_WRITE", default=True),
        extra={k: v for k, v in env.items() if k.startswith("STINT_")},
    )
    values.update(overrides)
    settings = Settings(**values)
    check_settings(settings)
    return settings


def _count(env: Mapping[str, str], name: str) -> int:
    """A positive whole number setting (1 when unset)."""
    text = env.get(name, "1")
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    """An on/off setting: 1/on/true/yes or 0/off/false/no (`default` when unset)."""
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "on", "true", "yes"):
        return True
    if text in ("0", "off", "false", "no"):
        return False
    raise ConfigError(f"{name} must be 1 or 0 (on or off), not {text!r}")


def check_settings(settings: Settings) -> None:
    """Raise ConfigError when the settings cannot run safely."""
    if settings.env not in ENVIRONMENTS:
        raise ConfigError(f"STINT_ENV must be one of {', '.join(ENVIRONMENTS)}, not {settings.env!r}")
    if not (settings.auth_secret or settings.auth_public_key or settings.auth_jwks_url):
        raise ConfigError(
            "STINT_AUTH_SECRET (or STINT_AUTH_PUBLIC_KEY / STINT_AUTH_JWKS_URL) is required; "
            "`make up` generates one in .env"
        )
    if settings.env == "production":
        # Production trusts only the identity provider's keys: a shared HS256 secret is a dev convenience.
        if not (settings.auth_public_key or settings.auth_jwks_url):
            raise ConfigError(
                "production refuses locally signed HS256 tokens: set STINT_AUTH_JWKS_URL (Keycloak's certs) "
                "or STINT_AUTH_PUBLIC_KEY"
            )
        if settings.auth_jwks_url and not (settings.auth_issuer and settings.auth_audience):
            raise ConfigError(
                "production checks the token issuer and audience: set STINT_AUTH_ISSUER and STINT_AUTH_AUDIENCE"
            )
        if not settings.public_url.startswith("https://"):
            raise ConfigError("production needs an https STINT_PUBLIC_URL for verification links")
    for name, value in (("STINT_KAFKA_BOOTSTRAP", settings.kafka_bootstrap), ("STINT_MONGO_URL", settings.mongo_url)):
        if not value:
            raise ConfigError(f"{name} is required")
    if settings.kafka_min_insync_replicas > settings.kafka_replication_factor:
        raise ConfigError("STINT_KAFKA_MIN_INSYNC_REPLICAS cannot exceed STINT_KAFKA_REPLICATION_FACTOR")
    if not settings.mongo_url.startswith(("mongodb://", "mongodb+srv://")):
        raise ConfigError("STINT_MONGO_URL must be a mongodb:// URL")
