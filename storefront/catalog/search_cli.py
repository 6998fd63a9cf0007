"""``flask search …``: rebuild a search backend's index and see how complete it is.

::

    flask search status                     backends, the one in use, documents indexed
    flask search reindex [--backend ID]     rebuild (default: SEARCH_BACKEND), with a progress bar
                         [--batch-size N] [--from-id ID]

The index normally follows the catalog by itself (product-changed event → job on the
``search`` queue). Rebuild after installing or switching a backend, after restoring a
database, or when ``status`` shows a gap.
"""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..errors import StorefrontError
from . import search


@click.group("search")
def search_group() -> None:
    """Search backends: rebuild an index, see its state."""


@search_group.command("reindex")
@click.option("--backend", "backend_id", default=None, metavar="ID",
              help="Backend to rebuild (default: SEARCH_BACKEND).")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=None,
              help="Product ids per batch (default: SEARCH_REINDEX_BATCH_SIZE).")
@click.option("--from-id", type=click.IntRange(1), default=1, show_default=True,
              help="Start at this product id (resume an interrupted rebuild).")
@with_appcontext
def reindex_command(backend_id: str | None, batch_size: int | None, from_id: int) -> None:
    """Re-index every product, in batches of contiguous ids, with a progress bar."""
    try:
        backend = search.search_backend(backend_id)
    except StorefrontError as exc:
        names = ", ".join(b.id for b in search.search_backends()) or "none"
        raise click.ClickException(f"{exc.message} Enabled backends: {names}.") from None
    size = batch_size or int(current_app.config["SEARCH_REINDEX_BATCH_SIZE"])
    batches = search.product_id_batches(size, first_id=from_id)
    expected = search.searchable_product_count()
    click.echo(f"Rebuilding {backend.id!r}: {expected} active products, ids {from_id}–"
               f"{batches[-1].stop - 1 if batches else from_id - 1}, {size} per batch.")
    with click.progressbar(length=sum(len(ids) for ids in batches), label="Indexing",
                           show_pos=True, show_eta=True) as bar:
        for ids in batches:
            try:
                search.index_batch(backend, ids)
            except StorefrontError as exc:
                raise click.ClickException(
                    f"ids {ids.start}–{ids.stop - 1} failed: {exc.message} (see the log). "
                    f"Resume with --from-id {ids.start}.") from None
            bar.update(len(ids))
    click.echo(f"Done. {_describe(backend)}")


@search_group.command("status")
@with_appcontext
def status_command() -> None:
    """Enabled backends, the one in use, and how many documents each holds."""
    wanted = current_app.config["SEARCH_BACKEND"]
    click.echo(f"SEARCH_BACKEND = {wanted!r}; active products: {search.searchable_product_count()}")
    backends = search.search_backends()
    if wanted != search.BASIC_BACKEND_ID and wanted not in {b.id for b in backends}:
        click.echo(f"warning: no enabled backend is called {wanted!r}; the basic search answers.")
    for backend in backends:
        marker = "*" if backend.id == wanted else " "
        click.echo(f"{marker} {backend.id:<10} {backend.name}: {_describe(backend)}")


def _describe(backend) -> str:
    """A backend's own figures (its optional ``stats()``), or a note that it has none."""
    stats = getattr(backend, "stats", None)
    if stats is None:
        return "no statistics"
    try:
        figures = stats()
    except StorefrontError as exc:
        return f"unavailable ({exc.message})"
    return ", ".join(f"{key}: {value}" for key, value in figures.items()) or "no statistics"


def init_app(app: Flask) -> None:
    app.cli.add_command(search_group)
