"""``flask`` commands (and the ``storefront`` console script, for installed use).

From the repository root ``flask …`` finds the app through ``.flaskenv``; anywhere else
``storefront …`` does the same through :func:`main`.
"""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from . import jobs, sessions
from .catalog.cli import catalog_group


@click.command("worker")
@click.option("--queue", "-q", "queues", multiple=True, help="Queue to listen to (repeatable).")
@click.option("--burst", is_flag=True, help="Quit once the queues are empty.")
@click.option("--max-jobs", type=int, default=None, help="Quit after this many jobs.")
@with_appcontext
def worker_command(queues: tuple[str, ...], burst: bool, max_jobs: int | None) -> None:
    """Run a background worker (RQ, with its scheduler and the periodic jobs)."""
    app = current_app._get_current_object()
    if jobs.state(app).inline:
        raise click.ClickException("REDIS_URL is not set, so jobs run inline and no worker "
                                   "is needed. Set STOREFRONT_REDIS_URL to use a worker.")
    click.echo(f"worker listening on: {', '.join(queues or jobs.state(app).queues)}")
    jobs.run_worker(app, list(queues) or None, burst=burst, max_jobs=max_jobs)


@click.group("jobs")
def jobs_group() -> None:
    """Inspect queues, failed jobs and periodic jobs."""


def _queue_app() -> Flask:
    app = current_app._get_current_object()
    if jobs.state(app).inline:
        raise click.ClickException("REDIS_URL is not set: jobs run inline and nothing is queued.")
    return app


@jobs_group.command("list")
@with_appcontext
def jobs_list() -> None:
    """Queue sizes: queued, running, scheduled (waiting to retry) and failed."""
    click.echo(f"{'queue':<12}{'queued':>8}{'running':>9}{'scheduled':>11}{'failed':>8}")
    for q in jobs.queue_summaries(_queue_app()):
        click.echo(f"{q.name:<12}{q.queued:>8}{q.started:>9}{q.scheduled:>11}{q.failed:>8}")


@jobs_group.command("failed")
@with_appcontext
def jobs_failed() -> None:
    """Failed jobs, newest error line included."""
    failed = jobs.failed_jobs(_queue_app())
    if not failed:
        click.echo("no failed jobs")
    for job in failed:
        when = job.failed_at.isoformat(timespec="seconds") if job.failed_at else "?"
        click.echo(f"{job.id}  {job.queue}  {when}  {job.description}\n    {job.error}")


@jobs_group.command("requeue")
@click.argument("job_ids", nargs=-1)
@click.option("--all", "requeue_all", is_flag=True, help="Requeue every failed job.")
@with_appcontext
def jobs_requeue(job_ids: tuple[str, ...], requeue_all: bool) -> None:
    """Put failed jobs back on their queue."""
    if not job_ids and not requeue_all:
        raise click.UsageError("name one or more JOB_IDS, or pass --all")
    requeued = jobs.requeue_failed(_queue_app(), None if requeue_all else list(job_ids))
    missing = set(job_ids) - set(requeued)
    click.echo(f"requeued {len(requeued)} job(s)")
    if missing:
        raise click.ClickException(f"not in the failed registry: {', '.join(sorted(missing))}")


@jobs_group.command("periodic")
@with_appcontext
def jobs_periodic() -> None:
    """The periodic jobs and their intervals."""
    for job in jobs.state().periodic:
        click.echo(f"{job.name:<32} every {job.every_seconds:>6}s  queue={job.queue}  {job.func}")


@jobs_group.command("run-periodic")
@click.argument("names", nargs=-1)
@with_appcontext
def jobs_run_periodic(names: tuple[str, ...]) -> None:
    """Run (or enqueue) periodic jobs now — all of them, or the NAMES given. Cron-friendly."""
    known = {job.name for job in jobs.state().periodic}
    unknown = set(names) - known
    if unknown:
        raise click.UsageError(f"unknown periodic job(s): {', '.join(sorted(unknown))}")
    for name in jobs.run_periodic_jobs_now(current_app._get_current_object(), list(names) or None):
        click.echo(f"ran {name}" if jobs.state().inline else f"enqueued {name}")


@click.group("sessions")
def sessions_group() -> None:
    """Server-side sessions."""


@sessions_group.command("cleanup")
@with_appcontext
def sessions_cleanup() -> None:
    """Delete expired sessions now (a periodic job also does this hourly)."""
    click.echo(f"removed {sessions.remove_expired_sessions()} expired session(s)")


CORE_COMMANDS = (worker_command, jobs_group, sessions_group, catalog_group)


def init_app(app: Flask) -> None:
    for command in CORE_COMMANDS:
        app.cli.add_command(command)
    upgrade_all_heads_by_default()


def upgrade_all_heads_by_default() -> None:
    """Make a plain ``flask db upgrade`` mean ``flask db upgrade heads``.

    Plugins that own tables ship their own Alembic branch, so an install with such a
    plugin has several heads, and Flask-Migrate's default target ("head") would refuse
    with "Multiple head revisions". Upgrading every branch is what a merchant means.
    """
    from flask_migrate.cli import upgrade

    for param in upgrade.params:
        if param.name == "revision" and param.default == "head":
            param.default = "heads"


def main() -> None:
    """Entry point of the ``storefront`` console script."""
    from . import create_app

    FlaskGroup(create_app=create_app, help="Storefront management commands.")()
