"""WSGI entry point: ``gunicorn wsgi:app``."""
from storefront import serving_app

app = serving_app()
