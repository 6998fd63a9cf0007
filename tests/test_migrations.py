"""One migrations folder serves SQLite and MariaDB; it matches the models exactly."""
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, inspect, make_url, text

from storefront.testing import app_environment, ensure_database, is_mariadb


@pytest.fixture
def scratch_database_url(database_url, tmp_path):
    """A fresh, empty database of the same kind as the test database."""
    if not is_mariadb(database_url):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"storefront_mig_{uuid.uuid4().hex[:8]}"
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    ensure_database(url)
    yield url
    server = create_engine(make_url(database_url).set(database=""))
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    server.dispose()


def flask_db(url, *args, cwd):
    env = app_environment({"DATABASE_URL": url, "SECRET_KEY": "migration-test-secret"})
    env["FLASK_APP"] = "storefront"
    return subprocess.run([sys.executable, "-m", "flask", "db", *args, "-d", str(cwd / "migrations")],
                          env=env, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_migrations_build_the_schema_and_match_the_models(scratch_database_url, request):
    root = request.config.rootpath
    upgrade = flask_db(scratch_database_url, "upgrade", cwd=root)
    assert upgrade.returncode == 0, upgrade.stderr
    check = flask_db(scratch_database_url, "check", cwd=root)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    engine = create_engine(scratch_database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"sessions", "job_receipts", "alembic_version"} <= tables


def test_migrations_downgrade_to_nothing_and_back(scratch_database_url, request):
    root = request.config.rootpath
    assert flask_db(scratch_database_url, "upgrade", cwd=root).returncode == 0
    down = flask_db(scratch_database_url, "downgrade", "base", cwd=root)
    assert down.returncode == 0, down.stderr
    engine = create_engine(scratch_database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    assert flask_db(scratch_database_url, "upgrade", cwd=root).returncode == 0


def test_the_sql_search_word_counts_start_from_the_rows_already_indexed(scratch_database_url, request):
    # A store upgrading the SQL search plugin knows its common words at once.
    root = request.config.rootpath
    before = flask_db(scratch_database_url, "upgrade", "search_sql_0001", cwd=root)
    assert before.returncode == 0, before.stderr
    engine = create_engine(scratch_database_url)
    key = "rowid" if engine.dialect.name == "sqlite" else "product_id"
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO search_sql_fts ({key}, title, body) VALUES "
                                "(1, 'Oak Table', 'Made by hand'), (2, 'Pine Chair', 'Made by hand, made well')"))
    after = flask_db(scratch_database_url, "upgrade", cwd=root)
    assert after.returncode == 0, after.stderr
    with engine.connect() as connection:
        counts = dict(connection.execute(text("SELECT word, documents FROM search_sql_words")).all())
    engine.dispose()
    assert (counts[""], counts["made"], counts["hand"], counts["oak"], counts["chair"]) == (2, 2, 2, 1, 1)
