"""Probes for load balancers and orchestrators.

``/healthz`` says the process is alive (never touches a dependency); ``/readyz`` checks
the database and, when configured, Redis, and answers 503 naming what failed.
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from .extensions import db, limiter

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    checks = {"database": _check_database()}
    if current_app.config["REDIS_URL"]:
        checks["redis"] = _check_redis(current_app.config["REDIS_URL"])
    failed = sorted(name for name, ok in checks.items() if not ok)
    body = {"status": "unavailable" if failed else "ok",
            "checks": {name: "ok" if ok else "unreachable" for name, ok in checks.items()}}
    if failed:
        body["failed"] = failed
        return jsonify(body), 503
    return jsonify(body)


def _check_database() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:
        log.warning("readiness: database unreachable", exc_info=True)
        db.session.rollback()
        return False
    finally:
        db.session.remove()


def _check_redis(url: str) -> bool:
    from redis import Redis

    try:
        client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        log.warning("readiness: redis unreachable", exc_info=True)
        return False
