import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from rq import Queue
from rq.job import JobStatus

from storefront import jobs
from storefront.extensions import db
from storefront.sessions import SessionRecord, count_sessions
from storefront.testing import app_environment

CALLS: list = []


def record_receipt(key):
    """A well-behaved job: idempotent on its key."""
    if jobs.already_done(key):
        return "skipped"
    jobs.mark_done(key)
    return "done"


def always_fails(reason):
    CALLS.append(reason)
    raise RuntimeError(f"gateway down: {reason}")


def receipt_keys():
    db.session.rollback()  # end our snapshot: MariaDB's REPEATABLE READ hides the worker's commits
    return db.session.scalars(db.select(jobs.JobReceipt.key).order_by(jobs.JobReceipt.key)).all()


def test_without_redis_a_job_runs_inline_at_once(app):
    job = jobs.enqueue(record_receipt, "welcome-mail:7")
    assert job.get_status() == "finished" and job.result == "done"
    assert receipt_keys() == ["welcome-mail:7"]


def test_a_repeated_idempotent_job_does_its_work_once(app):
    assert jobs.enqueue(record_receipt, "k").result == "done"
    assert jobs.enqueue(record_receipt, "k").result == "skipped"
    assert jobs.mark_done("k") is False
    assert receipt_keys() == ["k"]


def test_a_failing_inline_job_raises_in_tests(app):
    with pytest.raises(RuntimeError, match="gateway down"):
        jobs.enqueue(always_fails, "inline")


def test_a_failing_inline_job_never_breaks_the_caller_in_production(make_app, caplog):
    app = make_app(TESTING=False)
    with app.app_context():
        job = jobs.enqueue(always_fails, "prod")
    assert job.get_status() == "failed"
    assert "inline job test_jobs:always_fails failed" in caplog.text


def test_with_redis_jobs_wait_in_the_queue_until_a_worker_runs_them(app, queued_jobs):
    job = jobs.enqueue(record_receipt, "queued-1")
    assert job.get_status() == JobStatus.QUEUED
    assert receipt_keys() == []
    queued_jobs()
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == "done"
    assert receipt_keys() == ["queued-1"]


def test_failed_jobs_are_retried_then_land_in_the_failed_registry(make_app, fake_redis):
    app = make_app(JOBS_RETRY_INTERVALS=[0, 0])
    with app.app_context():
        jobs.state(app).connection = fake_redis
        CALLS.clear()
        job = jobs.enqueue(always_fails, "retry-me")
        from rq import SimpleWorker

        SimpleWorker(["default"], connection=fake_redis).work(burst=True)
        assert CALLS == ["retry-me"] * 3  # first try + 2 retries
        assert job.id in Queue("default", connection=fake_redis).failed_job_registry.get_job_ids()


def test_retries_back_off_through_the_scheduler(make_app, fake_redis):
    app = make_app(JOBS_RETRY_INTERVALS=[60, 300])
    with app.app_context():
        jobs.state(app).connection = fake_redis
        job = jobs.enqueue(always_fails, "later")
        from rq import SimpleWorker

        SimpleWorker(["default"], connection=fake_redis).work(burst=True)
        job.refresh()
        assert job.get_status() == JobStatus.SCHEDULED
        assert job.retries_left == 1
        scheduled = Queue("default", connection=fake_redis).scheduled_job_registry
        assert job.id in scheduled.get_job_ids()


def test_jobs_cli_lists_queues_shows_failures_and_requeues_them(make_app, fake_redis):
    app = make_app(JOBS_RETRY_INTERVALS=[])
    runner = app.test_cli_runner()
    with app.app_context():
        jobs.state(app).connection = fake_redis
        failing = jobs.enqueue(always_fails, "cli")
        jobs.enqueue(record_receipt, "waiting", queue="mail")
        from rq import SimpleWorker

        SimpleWorker(["default"], connection=fake_redis).work(burst=True)

    listing = runner.invoke(args=["jobs", "list"])
    assert listing.exit_code == 0, listing.output
    rows = {line.split()[0]: line.split()[1:] for line in listing.output.splitlines()[1:]}
    assert rows["default"] == ["0", "0", "0", "1"]
    assert rows["mail"] == ["1", "0", "0", "0"]

    failed = runner.invoke(args=["jobs", "failed"])
    assert failing.id in failed.output and "RuntimeError: gateway down: cli" in failed.output

    requeued = runner.invoke(args=["jobs", "requeue", failing.id])
    assert requeued.exit_code == 0 and "requeued 1 job(s)" in requeued.output
    assert Queue("default", connection=fake_redis).job_ids == [failing.id]

    unknown = runner.invoke(args=["jobs", "requeue", "no-such-job"])
    assert unknown.exit_code != 0 and "not in the failed registry: no-such-job" in unknown.output


def test_jobs_cli_explains_that_inline_mode_has_no_queues(app, runner):
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code != 0 and "REDIS_URL is not set" in result.output
    worker = runner.invoke(args=["worker", "--burst"])
    assert worker.exit_code != 0 and "STOREFRONT_REDIS_URL" in worker.output


def test_each_periodic_job_is_enqueued_once_per_interval_across_workers(app, fake_redis):
    jobs.state(app).connection = fake_redis
    first = jobs.enqueue_due_periodic_jobs(app)
    second = jobs.enqueue_due_periodic_jobs(app)  # another worker ticking at the same time
    assert sorted(first) == sorted(job.name for job in jobs.state(app).periodic)
    assert second == []
    assert Queue("default", connection=fake_redis).count == len(first)


def test_periodic_jobs_can_be_listed_and_run_now_from_the_cli(app, runner):
    db.session.add(SessionRecord(session_id="session:old", data=b"",
                                 expiry=datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=1)))
    db.session.commit()
    listing = runner.invoke(args=["jobs", "periodic"])
    assert "sessions.remove_expired" in listing.output and "every   3600s" in listing.output
    result = runner.invoke(args=["jobs", "run-periodic", "sessions.remove_expired"])
    assert result.exit_code == 0 and "ran sessions.remove_expired" in result.output
    assert count_sessions() == 0
    bad = runner.invoke(args=["jobs", "run-periodic", "nope"])
    assert bad.exit_code != 0 and "unknown periodic job(s): nope" in bad.output


def test_the_embedded_store_runs_due_periodic_jobs_without_a_worker(make_app):
    app = make_app(TESTING=False)
    with app.app_context():
        db.session.add(SessionRecord(session_id="session:old", data=b"",
                                     expiry=datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=1)))
        db.session.commit()
    app.test_client().get("/healthz")
    deadline = time.monotonic() + 5
    with app.app_context():
        while count_sessions() and time.monotonic() < deadline:
            db.session.rollback()  # see the background thread's commit (REPEATABLE READ)
            time.sleep(0.05)
        assert count_sessions() == 0


def test_a_guard_can_refuse_a_job(app):
    def refuse(path):
        if path.endswith("record_receipt"):
            raise jobs.JobRefused("plugin disabled")

    jobs.state(app).guards.append(refuse)
    with pytest.raises(jobs.JobRefused):
        jobs.enqueue(record_receipt, "refused")
    assert receipt_keys() == []


@pytest.mark.redis
@pytest.mark.slow
def test_a_real_flask_worker_process_runs_queued_jobs_from_real_redis(make_app, redis_url, database_url, tmp_path):
    config = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "worker-test-secret",
              "JOBS_QUEUES": ["default"]}
    app = make_app(**config)
    with app.app_context():
        db.session.add(SessionRecord(session_id="session:old", data=b"",
                                     expiry=datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=1)))
        db.session.commit()
        job = jobs.enqueue("storefront.sessions:remove_expired_sessions")
        assert job.get_status() == JobStatus.QUEUED
    env = app_environment(config)
    env["FLASK_APP"] = "storefront"
    result = subprocess.run([sys.executable, "-m", "flask", "worker", "--burst"], env=env,
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    with app.app_context():
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED
        assert job.return_value() == 1
        assert count_sessions() == 0
