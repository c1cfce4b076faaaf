"""The listing API for gunicorn: `gunicorn services.listing.wsgi:app`."""

from services.listing.app import create_app

app = create_app()
