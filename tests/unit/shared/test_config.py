import pytest

from shared.config import ConfigError, load_settings

GOOD_SECRET = "s" * 40


def test_settings_come_from_stint_variables():
    settings = load_settings(
        "listing",
        environ={
            "STINT_AUTH_SECRET": GOOD_SECRET,
            "STINT_KAFKA_BOOTSTRAP": "k:9092",
            "STINT_MONGO_URL": "mongodb://m:27017/",
        },
    )
    assert (settings.kafka_bootstrap, settings.mongo_url, settings.database_name) == (
        "k:9092",
        "mongodb://m:27017/",
        "stint_listing",
    )


def test_start_fails_fast_without_an_auth_secret():
    with pytest.raises(ConfigError, match="STINT_AUTH_SECRET"):
        load_settings("listing", environ={})


@pytest.mark.parametrize("secret", ["change-me", "short-secret"])
def test_production_refuses_a_default_or_short_secret(secret):
    with pytest.raises(ConfigError, match="production refuses"):
        load_settings(
            "listing",
            environ={
                "STINT_ENV": "production",
                "STINT_AUTH_SECRET": secret,
                "STINT_PUBLIC_URL": "https://stint.example",
            },
        )


def test_production_accepts_a_long_random_secret_and_https_links():
    settings = load_settings(
        "listing",
        environ={
            "STINT_ENV": "production",
            "STINT_AUTH_SECRET": GOOD_SECRET,
            "STINT_PUBLIC_URL": "https://stint.example",
        },
    )
    assert settings.env == "production"


def test_production_needs_https_verification_links():
    with pytest.raises(ConfigError, match="https"):
        load_settings("listing", environ={"STINT_ENV": "production", "STINT_AUTH_SECRET": GOOD_SECRET})


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="STINT_ENV"):
        load_settings("listing", environ={"STINT_ENV": "staging", "STINT_AUTH_SECRET": GOOD_SECRET})


def test_topics_carry_the_prefix():
    settings = load_settings("listing", environ={"STINT_AUTH_SECRET": GOOD_SECRET, "STINT_TOPIC_PREFIX": "run1."})
    assert settings.topic("certification") == "run1.stint.certification"
