"""``flask catalog …``: CSV import and export, the demo catalog, generated catalogs."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from .csv_io import DEFAULT_BATCH_SIZE, IMPORT_MODES, CsvFormatError, count_products, import_products, write_export
from .demo import demo_product_count, seed_demo
from .generate import DEFAULT_BATCH_SIZE as DEFAULT_GENERATE_BATCH, generate_catalog


@click.group("catalog")
def catalog_group() -> None:
    """Catalog data: CSV import and export, demo data, generated benchmark data."""


@catalog_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mode", type=click.Choice(IMPORT_MODES), default="all-or-nothing", show_default=True,
              help="all-or-nothing: write nothing when any row is bad. skip-bad: leave out every product "
                   "with a bad row and write the others.")
@click.option("--batch", "batch_size", type=click.IntRange(1, 100_000), default=DEFAULT_BATCH_SIZE,
              show_default=True, help="Products written per batch (and per commit with skip-bad).")
@with_appcontext
def import_command(file: Path, mode: str, batch_size: int) -> None:
    """Import products and variants from a CSV FILE (format: docs/catalog.md).

    Every bad row is listed as "row N, column: reason". Exits with status 1 when the
    file was refused (nothing written).
    """
    size = max(file.stat().st_size, 1)
    with file.open("rb") as stream, click.progressbar(length=2 * size, label="Checking rows   ") as bar:

        def progress(phase: str, position: int) -> None:
            if phase == "write":
                bar.label = "Writing products"
            bar.update((size if phase == "write" else 0) + position - bar.pos)

        try:
            report = import_products(stream, mode=mode, batch_size=batch_size, progress=progress,
                                     filename=file.name)
        except CsvFormatError as exc:
            raise click.ClickException(exc.message) from None
    for error in report.errors:
        where = f"row {error.row}, {error.column}" if error.column else f"row {error.row}"
        click.echo(f"{where}: {error.reason}", err=True)
    click.echo(f"{report.rows} row(s) read: {report.rows_imported} imported, {report.rows_skipped} skipped; "
               f"products: {report.products_created} created, {report.products_updated} updated, "
               f"{report.products_unchanged} unchanged, {report.products_skipped} skipped; "
               f"{report.stock_movements} stock movement(s).")
    if report.refused:
        click.echo(f"Nothing was imported: {report.error_count} error(s)"
                   + (" (use --mode skip-bad to import the good products)." if mode == "all-or-nothing" else "."),
                   err=True)
        raise SystemExit(1)


@catalog_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
def export_command(file: Path) -> None:
    """Export every product and variant to a CSV FILE that `flask catalog import` reads back."""
    total = count_products()
    try:
        target = file.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise click.ClickException(f"cannot write {file}: {exc.strerror}") from None
    with target, click.progressbar(length=max(total, 1), label="Exporting products") as bar:
        write_export(target, progress=bar.update)
    click.echo(f"wrote {total} product(s) to {file}")


@catalog_group.command("generate")
@click.option("--products", "count", type=click.IntRange(1, 10_000_000), required=True,
              help="How many products to add.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same catalog.")
@click.option("--batch", "batch_size", type=click.IntRange(1, 100_000), default=DEFAULT_GENERATE_BATCH,
              show_default=True, help="Products inserted per commit.")
@with_appcontext
def generate_command(count: int, seed: int, batch_size: int) -> None:
    """Add a deterministic synthetic catalog for benchmarks (no images, no search index)."""
    with click.progressbar(length=count, label="Generating products") as bar:
        result = generate_catalog(count, seed=seed, batch_size=batch_size, progress=bar.update)
    click.echo(f"added {result.products} products and {result.variants} variants in {result.seconds:.1f}s "
               f"({result.products / max(result.seconds, 1e-9):,.0f} products/s).")
    click.echo("Search does not know them yet: run `flask search reindex`.")


@catalog_group.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the catalog already has products.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Fill the catalog with a small demo catalog (generated pictures, no downloads)."""
    if if_empty and count_products():
        click.echo("The catalog already has products; the demo catalog was not added.")
        return
    with click.progressbar(length=demo_product_count(), label="Adding demo products") as bar:
        result = seed_demo(progress=bar.update)
    click.echo(f"added {result.products} products, {result.images} pictures and {result.reviews} reviews "
               f"in {result.categories} categories.")
