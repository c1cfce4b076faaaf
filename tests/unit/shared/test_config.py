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


PRODUCTION_IDP = {
    "STINT_ENV": "production",
    "STINT_AUTH_JWKS_URL": "https://id.stint.example/realms/stint/protocol/openid-connect/certs",
    "STINT_AUTH_ISSUER": "https://id.stint.example/realms/stint",
    "STINT_AUTH_AUDIENCE": "stint-api",
    "STINT_PUBLIC_URL": "https://stint.example",
}


def test_production_refuses_to_run_on_a_shared_secret_alone():
    with pytest.raises(ConfigError, match="production refuses locally signed HS256 tokens"):
        load_settings(
            "listing",
            environ={
                "STINT_ENV": "production",
                "STINT_AUTH_SECRET": GOOD_SECRET,
                "STINT_PUBLIC_URL": "https://s.example",
            },
        )


def test_production_trusts_the_identity_providers_keys_with_issuer_and_audience():
    settings = load_settings("listing", environ=PRODUCTION_IDP)
    assert (settings.env, settings.auth_issuer, settings.auth_audience) == (
        "production",
        "https://id.stint.example/realms/stint",
        "stint-api",
    )


def test_production_checks_issuer_and_audience():
    with pytest.raises(ConfigError, match="STINT_AUTH_ISSUER and STINT_AUTH_AUDIENCE"):
        load_settings("listing", environ={**PRODUCTION_IDP, "STINT_AUTH_AUDIENCE": ""})


def test_production_needs_https_verification_links():
    with pytest.raises(ConfigError, match="https"):
        load_settings("listing", environ={**PRODUCTION_IDP, "STINT_PUBLIC_URL": "http://stint.example"})


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="STINT_ENV"):
        load_settings("listing", environ={"STINT_ENV": "staging", "STINT_AUTH_SECRET": GOOD_SECRET})


def test_topics_carry_the_prefix():
    settings = load_settings("listing", environ={"STINT_AUTH_SECRET": GOOD_SECRET, "STINT_TOPIC_PREFIX": "run1."})
    assert settings.topic("certification") == "run1.stint.certification"


def test_topics_are_created_on_one_replica_unless_the_cluster_asks_for_more():
    settings = load_settings("listing", environ={"STINT_AUTH_SECRET": GOOD_SECRET})
    assert (settings.kafka_replication_factor, settings.kafka_min_insync_replicas) == (1, 1)
    cluster = {
        "STINT_AUTH_SECRET": GOOD_SECRET,
        "STINT_KAFKA_REPLICATION_FACTOR": "3",
        "STINT_KAFKA_MIN_INSYNC_REPLICAS": "2",
    }
    settings = load_settings("listing", environ=cluster)
    assert (settings.kafka_replication_factor, settings.kafka_min_insync_replicas) == (3, 2)


@pytest.mark.parametrize(
    ("replicas", "in_sync", "complaint"),
    [("0", "1", "STINT_KAFKA_REPLICATION_FACTOR"), ("three", "1", "whole number"), ("1", "2", "cannot exceed")],
)
def test_replication_settings_that_cannot_work_are_refused(replicas, in_sync, complaint):
    environ = {
        "STINT_AUTH_SECRET": GOOD_SECRET,
        "STINT_KAFKA_REPLICATION_FACTOR": replicas,
        "STINT_KAFKA_MIN_INSYNC_REPLICAS": in_sync,
    }
    with pytest.raises(ConfigError, match=complaint):
        load_settings("listing", environ=environ)


def test_publish_on_write_is_on_unless_switched_off():
    assert load_settings("listing", environ={"STINT_AUTH_SECRET": GOOD_SECRET}).publish_on_write is True
    off = {"STINT_AUTH_SECRET": GOOD_SECRET, "STINT_PUBLISH_ON_WRITE": "0"}
    assert load_settings("listing", environ=off).publish_on_write is False


def test_a_publish_on_write_switch_that_is_neither_on_nor_off_stops_the_start():
    with pytest.raises(ConfigError, match="STINT_PUBLISH_ON_WRITE must be 1 or 0"):
        load_settings("listing", environ={"STINT_AUTH_SECRET": GOOD_SECRET, "STINT_PUBLISH_ON_WRITE": "sometimes"})
