"""The certification API for gunicorn: `gunicorn services.certification.wsgi:app`."""

from services.certification.app import create_app

app = create_app()
