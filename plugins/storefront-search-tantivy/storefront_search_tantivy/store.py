"""Opening the on-disk index: many readers, one writer.

*Readers* (web processes) keep one opened index per directory for the life of the
process and reload it only when ``meta.json`` changed (every commit rewrites it): a
``stat`` per search, no reopening. The cache lives on ``app.extensions``, not in a
module global, so two apps in one process never share it.

*The writer* is opened per indexing job and released when the job ends. tantivy allows
one writer per index (a lock file); jobs run on the ``search`` queue, so with one
worker on that queue there is no contention. Anything else (an inline job in a web
process, ``flask search reindex`` while the worker indexes) waits for the lock a
little, then fails — and RQ retries the job.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import tantivy
from flask import current_app

from storefront.plugins import PluginFailure

from .schema import build_schema

EXTENSION_KEY = "storefront_search_tantivy"
META_FILE = "meta.json"
#: How long a writer waits for another one to finish before giving up.
LOCK_WAIT_SECONDS = 10.0
LOCK_RETRY_SECONDS = 0.05


class IndexNotBuilt(PluginFailure):
    """The search index has not been built yet: run `flask search reindex --backend tantivy`."""


class IndexUnreadable(PluginFailure):
    """The search index could not be read; the basic search answers meanwhile."""


class IndexBusy(PluginFailure):
    """Another process is writing the search index; the job will be retried."""


@dataclass
class OpenIndex:
    index: tantivy.Index
    #: (mtime_ns, size) of meta.json when last (re)loaded.
    signature: tuple[int, int]


@dataclass
class Readers:
    """This app's opened indexes, by directory."""

    opened: dict[str, OpenIndex] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _meta_signature(directory: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(os.path.join(directory, META_FILE))
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def searcher(directory: str) -> tantivy.Searcher:
    """A searcher on the latest commit in ``directory`` (reloaded when it changed)."""
    signature = _meta_signature(directory)
    if signature is None:
        raise IndexNotBuilt()
    readers: Readers = current_app.extensions.setdefault(EXTENSION_KEY, Readers())
    with readers.lock:
        current = readers.opened.get(directory)
        if current is None:
            current = readers.opened[directory] = OpenIndex(tantivy.Index.open(directory), signature)
        elif current.signature != signature:
            current.index.reload()
            current.signature = signature
        return current.index.searcher()


def exists(directory: str) -> bool:
    return _meta_signature(directory) is not None


@contextmanager
def writer(directory: str, heap_bytes: int) -> Iterator[tantivy.IndexWriter]:
    """The index writer, created with the index if needed; commits when the block ends
    without an error, rolls back otherwise, and always releases the lock."""
    os.makedirs(directory, exist_ok=True)
    index = tantivy.Index(build_schema(), path=directory, reuse=True)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            index_writer = index.writer(heap_size=heap_bytes, num_threads=1)
            break
        except ValueError as exc:
            if "LockBusy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise IndexBusy() from exc
            time.sleep(LOCK_RETRY_SECONDS)
    try:
        yield index_writer
    except BaseException:
        index_writer.rollback()
        raise
    else:
        index_writer.commit()
    finally:
        # Waits for merges and drops the writer, which releases the lock file.
        index_writer.wait_merging_threads()
