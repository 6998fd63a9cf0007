"""Background jobs: the one module that touches RQ.

Without ``REDIS_URL`` (the embedded default) :func:`enqueue` runs the job at once, in a
fresh app context, so a trial store needs no Redis. With it, jobs go to RQ queues and
``flask worker`` (an app built by :func:`storefront.create_app`, so it sees the same
plugins and config) runs them, with RQ's scheduler for retries with back-off.

Contract for job functions:

* they are plain module-level functions, referenced by import path;
* they take ids and plain values, re-load their data, and are idempotent: use
  :func:`already_done` / :func:`mark_done` around side effects that must not repeat;
* they run inside an app context with a fresh database session.

Periodic jobs are declared in :data:`PERIODIC_JOBS` (plugins may add more through
``register_periodic``); each runs at most once per interval across all workers, because
a Redis ``SET NX EX`` key claims the slot.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from flask import Flask, current_app
from sqlalchemy import DateTime, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

log = logging.getLogger(__name__)

EXTENSION_KEY = "storefront.jobs"
PERIODIC_KEY_PREFIX = "storefront:periodic:"


@dataclass(frozen=True)
class PeriodicJob:
    """A job enqueued every ``every_seconds`` (at most once per interval, store-wide)."""

    name: str
    func: str  # import path "package.module:function"
    every_seconds: int
    queue: str = "default"


#: The core's periodic jobs — the one place they are declared.
PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("sessions.remove_expired", "storefront.sessions:remove_expired_sessions", 3600),
    PeriodicJob("jobs.forget_old_receipts", "storefront.jobs:forget_old_receipts", 86400),
    # Orders unpaid past their hold (ORDER_UNPAID_HOLD_MINUTES) are cancelled; stock returns.
    PeriodicJob("orders.cancel_unpaid", "storefront.orders.tasks:cancel_unpaid_orders", 300),
    # Orders fully shipped ORDER_COMPLETE_AFTER_DAYS ago are completed (0 turns this off).
    PeriodicJob("orders.complete_shipped", "storefront.orders.tasks:complete_shipped_orders", 3600),
    # Guest carts untouched for CART_GUEST_DAYS are deleted.
    PeriodicJob("cart.remove_old_guest_carts", "storefront.cart.services:remove_old_guest_carts", 86400),
)


class JobRefused(RuntimeError):
    """The job may not run now (for example: its plugin is disabled)."""


class JobReceipt(db.Model):
    """Proof that an idempotent job already did something (keyed by the job's own key)."""

    __tablename__ = "job_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(191), unique=True)
    done_at: Mapped[datetime] = mapped_column(DateTime, index=True)


@dataclass
class JobsState:
    """Per-app job machinery, kept on ``app.extensions`` (no module-global state)."""

    redis_url: str | None
    queues: list[str]
    retry_intervals: list[int]
    timeout: int
    periodic: list[PeriodicJob] = field(default_factory=list)
    # Set by tests to a fakeredis instance; otherwise built from redis_url on first use.
    connection: Any = None
    # Inline mode: when each periodic job last ran in this process.
    last_inline_run: dict[str, float] = field(default_factory=dict)
    inline_lock: threading.Lock = field(default_factory=threading.Lock)
    # Callables asked before a job runs; one may raise JobRefused (plugins use this).
    guards: list[Callable[[str], None]] = field(default_factory=list)

    @property
    def inline(self) -> bool:
        return self.connection is None and not self.redis_url

    def redis(self):
        if self.connection is None:
            if not self.redis_url:
                raise RuntimeError("REDIS_URL is not set: jobs run inline, there is no queue")
            from redis import Redis

            self.connection = Redis.from_url(self.redis_url)
        return self.connection


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = JobsState(
        redis_url=app.config["REDIS_URL"],
        queues=list(app.config["JOBS_QUEUES"]),
        retry_intervals=list(app.config["JOBS_RETRY_INTERVALS"]),
        timeout=int(app.config["JOBS_TIMEOUT"]),
        periodic=list(PERIODIC_JOBS),
    )
    if not app.testing:
        app.before_request(_run_due_periodic_jobs_inline)


def state(app: Flask | None = None) -> JobsState:
    return (app or current_app).extensions[EXTENSION_KEY]


def register_periodic(app: Flask, job: PeriodicJob) -> None:
    jobs_state = state(app)
    if any(existing.name == job.name for existing in jobs_state.periodic):
        raise ValueError(f"periodic job {job.name!r} is declared twice")
    jobs_state.periodic.append(job)


def job_path(func: Callable | str) -> str:
    if isinstance(func, str):
        return func
    return f"{func.__module__}:{func.__qualname__}"


def resolve(path: str) -> Callable:
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class InlineJob:
    """What :func:`enqueue` returns when the job already ran inline."""

    id: str
    result: Any
    failed: bool

    def get_status(self) -> str:
        return "failed" if self.failed else "finished"


def enqueue(func: Callable | str, *args: Any, queue: str = "default",
            job_id: str | None = None, retry: bool = True, **kwargs: Any):
    """Run ``func(*args, **kwargs)`` in the background (or now, inline).

    ``job_id`` makes enqueueing idempotent on Redis: RQ keeps one job per id.
    Returns the RQ job, or an :class:`InlineJob` in inline mode.
    """
    jobs_state = state()
    path = job_path(func)
    if jobs_state.inline:
        return _run_inline(path, args, kwargs, job_id or path)
    from rq import Queue, Retry

    intervals = jobs_state.retry_intervals
    return Queue(queue, connection=jobs_state.redis()).enqueue(
        execute,
        path,
        list(args),
        kwargs,
        job_id=job_id,
        job_timeout=jobs_state.timeout,
        retry=Retry(max=len(intervals), interval=intervals) if retry and intervals else None,
        description=path,
    )


def _run_inline(path: str, args: tuple, kwargs: dict, job_id: str) -> InlineJob:
    try:
        result = execute(path, list(args), kwargs)
    except Exception:
        # A background job never breaks the request that queued it; tests see the error.
        if current_app.testing:
            raise
        log.exception("inline job %s failed", path)
        return InlineJob(job_id, None, failed=True)
    return InlineJob(job_id, result, failed=False)


def execute(path: str, args: list, kwargs: dict) -> Any:
    """The function RQ runs: resolve the job and call it in a fresh app context."""
    app = current_app._get_current_object()
    with app.app_context():
        for guard in state(app).guards:
            guard(path)
        try:
            return resolve(path)(*args, **kwargs)
        finally:
            db.session.remove()


# --- idempotency -------------------------------------------------------------------


def already_done(key: str) -> bool:
    return db.session.scalar(select(JobReceipt.id).where(JobReceipt.key == key)) is not None


def mark_done(key: str) -> bool:
    """Record ``key`` as done; False when another run recorded it first."""
    db.session.add(JobReceipt(key=key, done_at=_utcnow()))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def forget_old_receipts(days: int = 90) -> int:
    from datetime import timedelta

    from sqlalchemy import delete

    cutoff = _utcnow() - timedelta(days=days)
    result = db.session.execute(delete(JobReceipt).where(JobReceipt.done_at < cutoff))
    db.session.commit()
    return result.rowcount or 0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# --- periodic jobs -------------------------------------------------------------------


def enqueue_due_periodic_jobs(app: Flask) -> list[str]:
    """Enqueue every periodic job whose interval has passed; returns their names.

    Safe to call from every worker at once: the Redis key claims each slot once.
    """
    jobs_state = state(app)
    connection = jobs_state.redis()
    enqueued = []
    with app.app_context():
        for job in jobs_state.periodic:
            claimed = connection.set(
                PERIODIC_KEY_PREFIX + job.name, int(time.time()), nx=True, ex=job.every_seconds
            )
            if claimed:
                enqueue(job.func, queue=job.queue, retry=False)
                enqueued.append(job.name)
    return enqueued


def run_periodic_jobs_now(app: Flask, names: list[str] | None = None) -> list[str]:
    """Run (inline) or enqueue the named periodic jobs, or all of them, regardless of schedule."""
    jobs_state = state(app)
    ran = []
    for job in jobs_state.periodic:
        if names and job.name not in names:
            continue
        enqueue(job.func, queue=job.queue, retry=False)
        ran.append(job.name)
    return ran


def _run_due_periodic_jobs_inline() -> None:
    """Embedded mode has no worker: requests notice due periodic jobs and run them on a thread."""
    app = current_app._get_current_object()
    jobs_state = state(app)
    if not jobs_state.inline:
        return
    now = time.monotonic()
    due = [j for j in jobs_state.periodic
           if now - jobs_state.last_inline_run.get(j.name, float("-inf")) >= j.every_seconds]
    if not due or not jobs_state.inline_lock.acquire(blocking=False):
        return
    for job in due:
        jobs_state.last_inline_run[job.name] = now

    def run() -> None:
        try:
            with app.app_context():
                for job in due:
                    try:
                        execute(job.func, [], {})
                    except Exception:
                        log.exception("periodic job %s failed", job.name)
        finally:
            jobs_state.inline_lock.release()

    threading.Thread(target=run, name="storefront-periodic", daemon=True).start()


# --- the worker ---------------------------------------------------------------------------


def run_worker(app: Flask, queues: list[str] | None = None, burst: bool = False,
               max_jobs: int | None = None, simple: bool = False) -> None:
    """Run an RQ worker (with RQ's scheduler) plus the periodic-job ticker."""
    from rq import SimpleWorker, Worker

    jobs_state = state(app)
    connection = jobs_state.redis()
    names = queues or jobs_state.queues
    engine = db.engine
    # A forked work horse must not reuse the parent's pooled MariaDB sockets.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    worker_class = SimpleWorker if simple else Worker
    worker = worker_class(names, connection=connection)
    stop = threading.Event()
    if not burst:
        threading.Thread(target=_tick_forever, args=(app, stop), daemon=True,
                         name="storefront-periodic").start()
    try:
        worker.work(burst=burst, with_scheduler=True, max_jobs=max_jobs,
                    logging_level=app.config["LOG_LEVEL"])
    finally:
        stop.set()


def _tick_forever(app: Flask, stop: threading.Event, every: float = 30.0) -> None:
    while not stop.is_set():
        try:
            enqueue_due_periodic_jobs(app)
        except Exception:
            log.exception("could not enqueue periodic jobs")
        stop.wait(every)


# --- inspection (CLI and back office) ---------------------------------------------------------


@dataclass(frozen=True)
class QueueSummary:
    name: str
    queued: int
    started: int
    scheduled: int
    failed: int


def queue_summaries(app: Flask) -> list[QueueSummary]:
    from rq import Queue

    connection = state(app).redis()
    summaries = []
    for name in state(app).queues:
        q = Queue(name, connection=connection)
        summaries.append(QueueSummary(name, q.count, q.started_job_registry.count,
                                      q.scheduled_job_registry.count,
                                      q.failed_job_registry.count))
    return summaries


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    description: str
    failed_at: datetime | None
    error: str


def failed_jobs(app: Flask) -> list[FailedJob]:
    from rq import Queue

    connection = state(app).redis()
    found = []
    for name in state(app).queues:
        q = Queue(name, connection=connection)
        for job in q.failed_job_registry.get_job_ids():
            rq_job = q.fetch_job(job)
            if rq_job is None:
                continue
            error = (rq_job.latest_result().exc_string if rq_job.latest_result() else "") or ""
            last_line = error.strip().splitlines()[-1] if error.strip() else ""
            found.append(FailedJob(rq_job.id, name, rq_job.description or "",
                                   rq_job.ended_at, last_line))
    return found


def requeue_failed(app: Flask, job_ids: list[str] | None = None) -> list[str]:
    """Put failed jobs (the given ids, or all) back on their queues."""
    from rq import Queue

    connection = state(app).redis()
    requeued = []
    for name in state(app).queues:
        registry = Queue(name, connection=connection).failed_job_registry
        for job_id in registry.get_job_ids():
            if job_ids is None or job_id in job_ids:
                registry.requeue(job_id)
                requeued.append(job_id)
    return requeued
