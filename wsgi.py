"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from listserver import create_app

app = create_app()
