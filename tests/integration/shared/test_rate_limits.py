"""Rate limits: over a limit an API answers 429 in the error shape with Retry-After; the count lives in Redis, so two
gunicorn workers share it; each limit is a setting; a client's address is its own unless a proxy is trusted."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devservers._process import free_port, tcp_open
from services.listing.app import create_app
from tests.conftest import TEST_SECRET
from tests.support.apps import service_app

ROOT = Path(__file__).resolve().parents[3]


def listing_app(settings_for, redis, **limits):
    extra = {"STINT_RATE_LIMIT_STORAGE": redis.url, **limits}
    return service_app(create_app, settings_for("listing", extra=extra))


def search(client, address="203.0.113.7", **headers):
    return client.get("/listings", headers=headers, environ_base={"REMOTE_ADDR": address})


def test_over_the_search_limit_the_api_answers_429_in_the_error_shape_with_retry_after(settings_for, redis):
    with listing_app(settings_for, redis, STINT_RATE_LIMIT_SEARCH="3/minute") as app:
        client = app.test_client()
        assert [search(client).status_code for _ in range(3)] == [200, 200, 200]
        refused = search(client)
        assert refused.status_code == 429
        assert refused.json["error"]["code"] == "too_many_requests"
        assert refused.json["error"]["details"]["limit"] == "search"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert search(client, address="203.0.113.8").status_code == 200  # another client has its own count
        assert client.get("/categories").status_code == 200  # an endpoint without a limit is not counted


def test_the_setting_changes_the_limit_and_off_turns_it_off(settings_for, redis):
    with listing_app(settings_for, redis, STINT_RATE_LIMIT_SEARCH="1/minute") as app:
        client = app.test_client()
        assert [search(client, "198.51.100.1").status_code for _ in range(2)] == [200, 429]
    with listing_app(settings_for, redis, STINT_RATE_LIMIT_SEARCH="off") as app:
        client = app.test_client()
        assert {search(client, "198.51.100.2").status_code for _ in range(40)} == {200}


def test_a_forwarded_for_header_counts_only_behind_a_trusted_proxy(settings_for, redis):
    with listing_app(settings_for, redis, STINT_RATE_LIMIT_SEARCH="2/minute") as app:
        client = app.test_client()
        statuses = [search(client, "192.0.2.1", **{"X-Forwarded-For": f"10.0.0.{n}"}).status_code for n in range(3)]
        assert statuses == [200, 200, 429]  # a client cannot make up a new address per request
    with listing_app(settings_for, redis, STINT_RATE_LIMIT_SEARCH="2/minute", STINT_TRUSTED_PROXIES="1") as app:
        client = app.test_client()
        statuses = [search(client, "192.0.2.2", **{"X-Forwarded-For": f"10.1.0.{n}"}).status_code for n in range(3)]
        assert statuses == [200, 200, 200]  # the proxy's word on who asked is taken


def test_an_exempt_caller_by_name_or_network_is_never_counted(settings_for, redis):
    exempt = {"STINT_RATE_LIMIT_EXEMPT": "localhost, 10.9.0.0/16"}  # the web, by its compose name, in practice
    with listing_app(settings_for, redis, STINT_RATE_LIMIT_SEARCH="1/minute", **exempt) as app:
        client = app.test_client()
        assert {search(client, "127.0.0.1").status_code for _ in range(3)} == {200}
        assert {search(client, "10.9.3.4").status_code for _ in range(3)} == {200}
        assert [search(client, "10.10.3.4").status_code for _ in range(2)] == [200, 429]


def test_every_endpoint_the_table_limits_exists_in_an_app(settings_for, tmp_path):
    from services.certification.app import create_app as create_certification_app
    from services.web.app import create_app as create_web_app
    from shared.rate_limits import ENDPOINTS

    web = create_web_app(dict(environ={}, env="test", session_secret="s", client_secret="c"), session_collection={})
    endpoints = set(web.view_functions)
    with service_app(create_app, settings_for("listing")) as listing:
        endpoints |= set(listing.view_functions)
    certification = settings_for("certification", signing_key_dir=str(tmp_path / "keys"))
    with service_app(create_certification_app, certification) as app:
        endpoints |= set(app.view_functions)
    assert set(ENDPOINTS) - endpoints == set()  # a renamed view would silently lose its limit


def test_the_openapi_document_says_which_operations_answer_429(settings_for, redis):
    with listing_app(settings_for, redis) as app:
        paths = app.test_client().get("/openapi.json").json["paths"]
        assert "Retry-After" in paths["/listings"]["get"]["responses"]["429"]["headers"]
        assert "429" not in paths["/listings"]["post"]["responses"]


def test_production_refuses_to_count_in_process_memory(settings_for):
    from shared.config import ConfigError
    from shared.rate_limits import load_rate_limits

    with pytest.raises(ConfigError, match="STINT_RATE_LIMIT_STORAGE"):
        load_rate_limits({}, "production")
    with pytest.raises(ConfigError, match="60/minute"):
        load_rate_limits({"STINT_RATE_LIMIT_VERIFY": "sixty"}, "test")
    with pytest.raises(ConfigError, match="STINT_RATE_LIMIT_EXEMPT"):
        load_rate_limits({"STINT_RATE_LIMIT_EXEMPT": "web, 10.0.0.0/33"}, "test")


@pytest.fixture
def two_workers(servers, redis, namespace, tmp_path):
    """The listing API under gunicorn with two worker processes, counting searches in Redis (10 a minute)."""
    port = free_port()
    env = {
        **os.environ,
        "STINT_ENV": "test",
        "STINT_AUTH_SECRET": TEST_SECRET,
        "STINT_KAFKA_BOOTSTRAP": servers.bootstrap,
        "STINT_MONGO_URL": servers.mongo_url,
        "STINT_MONGO_DB": namespace + "_{service}",
        "STINT_TOPIC_PREFIX": namespace + ".",
        "STINT_RATE_LIMIT_STORAGE": redis.url,
        "STINT_RATE_LIMIT_SEARCH": "10/minute",
    }
    log = tmp_path / "access.log"
    command = [sys.executable, "-m", "gunicorn", "services.listing.wsgi:app", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--access-logfile", str(log), "--access-logformat", "%(p)s %(U)s %(s)s"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, url)
        yield url, log
    finally:
        process.terminate()
        process.wait(30)


def _wait_until_ready(process, url):
    for _ in range(600):
        assert process.poll() is None, "gunicorn exited"
        port = int(url.rsplit(":", 1)[1])
        if tcp_open(port):
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
        time.sleep(0.1)  # polling the condition: gunicorn and its workers are up
    raise AssertionError("gunicorn did not answer")


def test_two_gunicorn_workers_share_one_count(two_workers):
    url, log = two_workers
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as held:
        held.sendall(b"GET /listings HTTP/1.1\r\nHost: stint\r\n")  # half a request: one worker waits for the rest
        assert [requests.get(url + "/listings", timeout=10).status_code for _ in range(5)] == [200] * 5  # the other
        held.sendall(b"Connection: close\r\n\r\n")  # the waiting worker answers the 6th search
        assert held.recv(4096).startswith(b"HTTP/1.1 200")
    assert [requests.get(url + "/listings", timeout=10).status_code for _ in range(4)] == [200] * 4
    refused = requests.get(url + "/listings", timeout=10)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    served = [line.split() for line in log.read_text().splitlines() if re.search(r" /listings \d+$", line)]
    assert len({pid for pid, _, status in served if status == "200"}) == 2  # both workers counted searches
