"""Back office: import products from a CSV upload, and download the catalog as CSV.

The upload's report is the POST's answer (not a redirect): it lists every problem of
the file, which would not fit a flash message, and re-sending the same file is harmless
because the import is idempotent. The format is documented in docs/catalog.md.
"""
from __future__ import annotations

from datetime import date

from flask import Response, current_app, render_template, request, stream_with_context
from flask_login import current_user

from ..catalog.csv_io import COLUMNS, IMPORT_MODES, CsvFormatError, ImportReport, export_chunks, import_products
from . import bp
from .guard import staff_required

#: Errors listed on the report page; the CLI lists every one.
MAX_SHOWN_ERRORS = 1000


def _page(report: ImportReport | None = None, error: str = "", mode: str = IMPORT_MODES[0], status: int = 200):
    return render_template("admin/catalog_import.html", report=report, error=error, mode=mode, modes=IMPORT_MODES,
                           columns=COLUMNS, max_upload_mb=(current_app.config["MAX_CONTENT_LENGTH"] or 0) // 2**20,
                           ), status


@bp.get("/catalog/import")
@staff_required
def catalog_import():
    return _page()


@bp.post("/catalog/import")
@staff_required
def catalog_import_upload():
    mode = request.form.get("mode", IMPORT_MODES[0])
    upload = request.files.get("file")
    if mode not in IMPORT_MODES:
        return _page(error="Choose how to treat bad rows.", status=400)
    if upload is None or not upload.filename:
        return _page(error="Choose a CSV file to upload.", mode=mode, status=400)
    try:
        report = import_products(upload.stream, mode=mode, actor=current_user._get_current_object(),
                                 filename=upload.filename, max_errors=MAX_SHOWN_ERRORS)
    except CsvFormatError as exc:
        return _page(error=exc.message, mode=mode, status=400)
    return _page(report=report, mode=mode, status=400 if report.refused else 200)


@bp.get("/catalog/export.csv")
@staff_required
def catalog_export():
    """The whole catalog, streamed batch by batch (drafts included, so never cached)."""
    filename = f"products-{date.today().isoformat()}.csv"
    return Response(stream_with_context(export_chunks()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "private, no-store"})
