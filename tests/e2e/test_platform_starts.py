"""Every service of the platform runs as its own processes and answers as an operator expects."""

from devservers.platform_processes import SERVICE_PORTS


def test_every_service_is_ready_and_documents_its_api(platform):
    for service in SERVICE_PORTS:
        ready = platform.http.get(platform.url(service, "/readyz"), timeout=5)
        assert ready.status_code == 200, (service, ready.text)
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        spec = platform.http.get(platform.url(service, "/openapi.json"), timeout=5).json()
        assert spec["paths"], service
        metrics = platform.http.get(platform.url(service, "/metrics"), timeout=5)
        assert "stint_http_requests_total" in metrics.text


def test_every_worker_is_running_ready_and_measured(platform):
    for service in SERVICE_PORTS:
        worker = platform.processes[f"{service}-worker"]
        assert worker.is_running(), service
        ready = platform.http.get(f"http://127.0.0.1:{worker.port}/readyz", timeout=15)
        assert ready.status_code == 200, (service, ready.text)
        metrics = platform.http.get(f"http://127.0.0.1:{worker.port}/metrics", timeout=15).text
        assert "stint_consumer_seconds_since_last_poll" in metrics and "stint_relay_backlog" in metrics
