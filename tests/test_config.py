import pytest

from storefront import create_app
from storefront.config import DEFAULT_SECRET_KEY, ConfigurationError, environment_overrides, mariadb_engine_options


def test_environment_values_are_read_as_json_when_possible():
    overrides = environment_overrides({
        "STOREFRONT_DEBUG": "true",
        "STOREFRONT_JOBS_TIMEOUT": "30",
        "STOREFRONT_JOBS_QUEUES": '["a", "b"]',
        "STOREFRONT_DATABASE_URL": "mysql+pymysql://u:p@h/db?charset=utf8mb4",
        "OTHER": "ignored",
    })
    assert overrides == {"DEBUG": True, "JOBS_TIMEOUT": 30, "JOBS_QUEUES": ["a", "b"],
                         "DATABASE_URL": "mysql+pymysql://u:p@h/db?charset=utf8mb4"}


def test_config_layers_apply_in_order_defaults_instance_file_environment_argument(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        'SECRET_KEY = "from-file"\nSTORE_NAME = "File Shop"\nSTORE_CURRENCY = "USD"\nSTORE_LOCALE = "de_DE"\n')
    monkeypatch.setenv("STOREFRONT_STORE_CURRENCY", "GBP")
    monkeypatch.setenv("STOREFRONT_STORE_LOCALE", "fr_FR")
    app = create_app({"TESTING": True, "STORE_LOCALE": "en_GB"}, instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"] == "from-file"          # instance file over default
    assert app.config["STORE_NAME"] == "File Shop"
    assert app.config["STORE_CURRENCY"] == "GBP"            # environment over file
    assert app.config["STORE_LOCALE"] == "en_GB"            # argument over environment
    assert app.config["JOBS_TIMEOUT"] == 600                # untouched default


def test_production_refuses_the_default_secret_key_and_says_how_to_set_one(tmp_path, monkeypatch):
    monkeypatch.delenv("STOREFRONT_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError) as excinfo:
        create_app({"SECRET_KEY": DEFAULT_SECRET_KEY}, instance_path=str(tmp_path))
    message = str(excinfo.value)
    assert "SECRET_KEY" in message and "instance/config.py" in message
    assert "STOREFRONT_SECRET_KEY" in message


def test_production_starts_with_a_real_secret_key(tmp_path):
    app = create_app({"SECRET_KEY": "a" * 64}, instance_path=str(tmp_path))
    assert not app.debug and not app.testing


def test_relative_sqlite_database_lives_in_the_instance_folder(tmp_path):
    from storefront.extensions import db

    app = create_app({"TESTING": True}, instance_path=str(tmp_path))
    with app.app_context():
        assert db.engine.url.database == str(tmp_path / "storefront.db")


@pytest.mark.parametrize("url, connect_args", [
    # TLS to this machine protects nothing, and PyMySQL's "preferred" TLS costs ~17 ms a connection.
    ("mysql+pymysql://u:p@127.0.0.1/x?charset=utf8mb4", {"connect_args": {"ssl_disabled": True}}),
    ("mysql+pymysql://u:p@localhost/x", {"connect_args": {"ssl_disabled": True}}),
    ("mysql+pymysql://u:p@db.example.com/x?charset=utf8mb4", {}),
    ("mysql+pymysql://u:p@127.0.0.1/x?ssl_ca=/etc/ca.pem", {}),
])
def test_mariadb_urls_get_pool_pre_ping_recycle_and_no_tls_to_this_machine(url, connect_args):
    assert mariadb_engine_options(url, 280) == {"pool_pre_ping": True, "pool_recycle": 280, **connect_args}


def test_the_app_uses_the_mariadb_engine_options(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": "mysql+pymysql://u:p@db.example.com/x",
                      "DATABASE_POOL_RECYCLE": 60}, instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True, "pool_recycle": 60}


def test_rate_limits_use_redis_when_configured_and_memory_otherwise(tmp_path):
    with_redis = create_app({"TESTING": True, "REDIS_URL": "redis://127.0.0.1:6379/0"},
                            instance_path=str(tmp_path / "a"))
    without = create_app({"TESTING": True}, instance_path=str(tmp_path / "b"))
    assert with_redis.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert without.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert with_redis.config["RATELIMIT_SWALLOW_ERRORS"] is True
    assert with_redis.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True
