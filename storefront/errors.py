"""Domain exceptions and the error pages.

HTML errors render ``errors/error.html`` through the active theme; requests under
``/api/`` (or asking for JSON) get ``{"error": ..., "message": ..., "request_id": ...}``.
A production error never shows a traceback: unexpected exceptions are logged with the
request id and answered with a plain 500 page quoting that id.
"""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class StorefrontError(Exception):
    """Base of domain errors. ``status`` is the HTTP status a view should answer with;
    ``message`` is safe to show to the user."""

    status = 400
    code = "error"

    def __init__(self, message: str | None = None):
        super().__init__(message or self.__doc__ or self.code)
        self.message = message or (self.__doc__ or self.code).strip()


class NotFound(StorefrontError):
    """That item does not exist."""

    status = 404
    code = "not_found"


class InvalidInput(StorefrontError):
    """The submitted data is not valid."""

    status = 400
    code = "invalid_input"


#: What each status means to a shopper: (title, helpful sentence).
FRIENDLY = {
    400: ("Bad request", "The request could not be understood. Please go back and try again."),
    401: ("Please sign in", "You need to sign in to see this page."),
    403: ("Not allowed", "You do not have permission to see this page."),
    404: ("Page not found", "We could not find that page. It may have moved or been removed."),
    405: ("Not allowed", "That action is not available here."),
    413: ("Too large", "What you sent is larger than this store accepts."),
    429: ("Slow down", "Too many requests in a short time. Please wait a moment and try again."),
    500: ("Something went wrong", "An unexpected error occurred. It has been logged."),
    503: ("Unavailable", "The store is temporarily unavailable. Please try again shortly."),
}


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, code: str, message: str | None = None, title: str | None = None):
    default_title, default_message = FRIENDLY.get(status, FRIENDLY[500] if status >= 500 else FRIENDLY[400])
    message = message or default_message
    request_id = getattr(g, "request_id", "-")
    if wants_json():
        response = jsonify(error=code, message=message, request_id=request_id)
        response.status_code = status
        return response
    try:
        body = render_template("errors/error.html", code=status, title=title or default_title,
                               message=message, request_id=request_id)
    except Exception:
        # A broken theme must not turn an error page into a traceback.
        log.exception("error page template failed")
        body = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>Reference: {request_id}</p>"
    return make_response(body, status)


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    # Werkzeug's descriptions are written for developers; ours for shoppers, except where
    # a view raised abort(4xx, "a specific message").
    generic = type(exc).description
    message = exc.description if exc.description and exc.description != generic else None
    response = error_response(status, _slug(exc.name), message)
    for header, value in exc.get_headers():
        # Keep the headers that tell clients what to do next (429 Retry-After, 405 Allow).
        if header.lower() in ("retry-after", "allow", "www-authenticate"):
            response.headers[header] = value
    return response


def handle_csrf_error(exc: CSRFError):
    return error_response(400, "csrf", f"{exc.description} Please reload the page and try again.",
                          title="Form expired")


def handle_domain_error(exc: StorefrontError):
    return error_response(exc.status, exc.code, exc.message)


def handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    log.exception("unhandled exception on %s %s", request.method, request.path)
    return error_response(500, "internal_error")


def _slug(name: str) -> str:
    return name.lower().replace(" ", "_")


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(StorefrontError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_unexpected)
    if not app.testing:
        # In tests exceptions propagate so failures show their traceback.
        app.register_error_handler(Exception, handle_unexpected)
