"""/docs works on a network without internet: every asset Swagger UI loads is served by the service itself."""

from __future__ import annotations

import importlib
import re

import pytest

from tests.support.apps import service_app


@pytest.mark.parametrize("service", ["listing", "application", "certification", "notification"])
def test_the_interactive_docs_load_only_from_the_service_itself(service, settings_for, tmp_path):
    create_app = importlib.import_module(f"services.{service}.app").create_app
    with service_app(create_app, settings_for(service, signing_key_dir=str(tmp_path))) as app:
        client = app.test_client()
        page = client.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.get_data(as_text=True))
        assert {a.rsplit("/", 1)[-1] for a in assets} >= {"swagger-ui.css", "swagger-ui-bundle.js"}
        for asset in assets:
            assert asset.startswith("/"), f"{asset} would be fetched from another host"
            loaded = client.get(asset)
            assert loaded.status_code == 200 and len(loaded.data) > 1000, asset
