"""The application API for gunicorn: `gunicorn services.application.wsgi:app`."""

from services.application.app import create_app

app = create_app()
