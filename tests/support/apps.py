"""A service's Flask app on a test's own database, dropped when the test is done."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from flask import Flask


@contextlib.contextmanager
def service_app(create_app: Callable[..., Flask], settings) -> Iterator[Flask]:
    """Build the app with `settings`; afterwards drop its database and close its client."""
    app = create_app(settings)
    try:
        yield app
    finally:
        db = app.extensions["stint_db"]
        db.client.drop_database(db.name)
        db.client.close()
