"""The notification API for gunicorn: `gunicorn services.notification.wsgi:app`."""

from services.notification.app import create_app

app = create_app()
