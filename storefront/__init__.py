"""Storefront: a self-hosted e-commerce storefront on Flask.

Read :func:`create_app` top to bottom: it is the whole start-up sequence.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from flask import Flask

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None, *, instance_path: str | None = None,
               plugins: tuple = ()) -> Flask:
    """Build a Storefront app.

    ``config`` overrides every other configuration layer (see :mod:`storefront.config`);
    ``plugins`` are extra plugin objects to register (tests and embedding apps use it).
    The instance folder is ``instance_path``, else ``$STOREFRONT_INSTANCE_PATH``, else
    ``instance/`` beside the package.
    """
    from . import cli, config as configuration, errors, extensions, health, jobs, logs, security
    from . import mail, media, sessions, templating
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp, views as auth_views
    from .cart import bp as cart_bp
    from .catalog import bp as catalog_bp, cache as catalog_cache, search_cli
    from .checkout import bp as checkout_bp
    from .orders import bp as orders_bp
    from .payments import bp as payments_bp
    from .plugins import manager as plugin_manager

    instance_path = instance_path or os.environ.get("STOREFRONT_INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    configuration.load(app, config)              # defaults → instance/config.py → env → argument
    configuration.check(app)                     # refuse unsafe production settings
    logs.init_app(app)                           # request ids on responses and log lines
    extensions.init_app(app)                     # db, migrate, csrf, login, limiter
    sessions.init_app(app)                       # server-side sessions in the app database
    jobs.init_app(app)                           # RQ queues, or inline without Redis
    mail.init_app(app)                           # outgoing mail, delivered by jobs
    media.init_app(app)                          # image storage, /media route, image_url()
    catalog_cache.init_app(app)                  # catalog page cache, new generation per catalog write
    auth_views.init_app(app)                     # who is signed in (Flask-Login)
    plugin_manager.init_app(app, extra=plugins)  # core + installed + extra plugins, live on/off
    security.init_app(app)                       # proxy awareness, security headers
    app.register_blueprint(health.bp)            # core blueprints, listed by hand
    app.register_blueprint(catalog_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(cart_bp)
    app.register_blueprint(checkout_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(admin_bp)
    plugin_manager.register_blueprints(app)      # then the blueprints plugins return
    templating.init_app(app)                     # themes, theme_static(), filters
    errors.init_app(app)                         # themed HTML / JSON error pages
    cli.init_app(app)                            # flask worker, jobs, sessions …
    search_cli.init_app(app)                     # flask search reindex | status
    plugin_manager.app_ready(app)                # storefront_app_ready: plugins' last word
    return app


def serving_app() -> Flask:
    """The app for a long-running web process (``wsgi.py``): :func:`create_app`, then
    every object made so far — modules, models, routes, plugins — is taken out of the
    garbage collector's sight with :func:`gc.freeze`.

    Those objects live as long as the process, yet every full collection walked them
    all: a 40–60 ms pause landing on a random request (the catalog bench's p99). After a
    fork they also stay shared with the master process instead of being copied.
    """
    import gc

    app = create_app()
    gc.collect()
    gc.freeze()
    return app
