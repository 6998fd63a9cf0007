"""An embedded search engine for Storefront (id ``tantivy``): BM25 ranking, typo
tolerance ("hedphones" finds headphones), prefix matching, filters, sorts and facet
counts, from an on-disk index under the instance folder.

One writer, many readers: the index is written only by jobs on the ``search`` queue
(run ``flask worker`` for it, or let jobs run inline without Redis — fine for a trial
store with one web process); web processes only open a reader, reloaded when a commit
lands. Every ``storefront_product_changed`` event queues such a job while this is the
store's ``SEARCH_BACKEND``; ``flask search reindex --backend tantivy`` builds the index.
"""
from __future__ import annotations

import os

from flask import current_app

from storefront.plugins import SearchBackend, Setting, enqueue, get_settings, hookimpl

from .backend import TantivySearch
from .schema import SCHEMA_VERSION

#: The plugin's name: entry point, settings namespace, SEARCH_BACKEND value.
PLUGIN_NAME = "tantivy"
STOREFRONT_REQUIRES = ">=0.1,<1"
#: The queue every indexing job goes to: give it one worker, the index's only writer.
QUEUE = "search"

SETTINGS = [
    Setting("index_dir", "str", default="search/tantivy", label="Index folder",
            help="Where the index lives; a relative path is inside the instance folder."),
    Setting("typo_tolerance", "bool", default=True, label="Forgive typos",
            help="Find words of 4 letters or more spelt with one mistake (two from 8 letters)."),
    Setting("title_boost", "int", default=3, min=1, max=20, label="Title weight",
            help="How much more a word in the title counts than one in the description."),
    Setting("facet_values", "int", default=20, min=1, max=200, label="Values per facet",
            help="The most frequent values listed under each facet (brand, size …)."),
    Setting("writer_memory_mb", "int", default=64, min=16, max=2048, label="Indexing memory (MB)",
            help="Memory the indexing job may use before it flushes to disk."),
]


def index_directory() -> str:
    """The index folder of the current app and schema version (absolute)."""
    folder = os.path.join(current_app.instance_path, get_settings(PLUGIN_NAME)["index_dir"])
    return os.path.join(folder, f"v{SCHEMA_VERSION}")


def configured_backend() -> TantivySearch:
    """The backend with the current settings (they change live)."""
    settings = get_settings(PLUGIN_NAME)
    return TantivySearch(index_directory(), title_boost=float(settings["title_boost"]),
                         typo_tolerance=settings["typo_tolerance"], facet_values=settings["facet_values"],
                         writer_heap_bytes=settings["writer_memory_mb"] * 1_000_000)


@hookimpl
def storefront_search_backends() -> list[SearchBackend]:
    return [configured_backend()]


@hookimpl
def storefront_product_changed(product_id: int, deleted: bool) -> None:
    # Only the store's chosen backend follows changes (a commit per change is not free);
    # before switching to this one, `flask search reindex --backend tantivy` builds it.
    if current_app.config["SEARCH_BACKEND"] != PLUGIN_NAME:
        return
    from .jobs import follow_product_change  # here: the jobs module imports this one

    enqueue(follow_product_change, product_id, deleted, queue=QUEUE)
