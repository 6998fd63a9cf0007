"""Storefront's default search backend (id ``sql``): full-text search in the shop's own
database — SQLite FTS5 for a trial store, MariaDB InnoDB FULLTEXT in production — with
relevance ranking, prefix matching, filters, sorts and facet counts.

The index follows the catalog: every ``storefront_product_changed`` event queues a job
on the ``search`` queue that re-reads the product (``load_product_documents``) and
rewrites its rows; ``flask search reindex`` rebuilds everything. Tables are prefixed
``search_sql_`` and created by this plugin's Alembic branch (``flask db upgrade``).
"""
from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import with_appcontext

from storefront.plugins import PluginFailure, SearchBackend, Setting, enqueue, get_settings, hookimpl

from . import tables  # noqa: F401  (declares the tables on the app's metadata)
from .backend import SqlSearch

#: The plugin's name: entry point, settings namespace, SEARCH_BACKEND value.
PLUGIN_NAME = "sql"
STOREFRONT_REQUIRES = ">=0.1,<1"
#: The queue every indexing job goes to (``flask worker`` listens to it).
QUEUE = "search"

SETTINGS = [
    Setting("title_weight", "int", default=5, min=1, max=100, label="Title weight",
            help="How much more a word in the title counts than one in the description."),
    Setting("facet_values", "int", default=20, min=1, max=200, label="Values per facet",
            help="The most frequent values listed under each facet (brand, size …)."),
]


def configured_backend() -> SqlSearch:
    """The backend with the current settings (they change live)."""
    settings = get_settings(PLUGIN_NAME)
    return SqlSearch(title_weight=settings["title_weight"], facet_values=settings["facet_values"])


@hookimpl
def storefront_search_backends() -> list[SearchBackend]:
    return [configured_backend()]


@hookimpl
def storefront_product_changed(product_id: int, deleted: bool) -> None:
    # Only the store's chosen backend follows changes; before switching to this one,
    # `flask search reindex --backend sql` fills it.
    if current_app.config["SEARCH_BACKEND"] != PLUGIN_NAME:
        return
    from .jobs import follow_product_change  # here: the jobs module imports this one

    enqueue(follow_product_change, product_id, deleted, queue=QUEUE)


@hookimpl
def storefront_migration_dirs() -> list[str]:
    return [os.path.join(os.path.dirname(__file__), "migrations")]


@click.command("optimize")
@with_appcontext
def optimize_command() -> None:
    """Compact the full-text index (after a large `flask search reindex`)."""
    try:
        configured_backend().optimize()
    except PluginFailure as exc:
        raise click.ClickException(f"Could not optimise the search index: {exc.message}. Try again when "
                                   "no long transaction holds it.") from None
    click.echo("search_sql_fts optimised.")


@hookimpl
def storefront_cli_commands() -> list[click.Command]:
    return [optimize_command]
