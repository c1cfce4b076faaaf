"""The WSGI entry point: `gunicorn services.application.wsgi:app`."""

from services.application.app import create_app

app = create_app()
