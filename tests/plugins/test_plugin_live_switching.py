"""Switching a plugin off (CLI) and on (back-office service) reaches a separately
running gunicorn process within 5 seconds, without a restart."""
import os
import subprocess
import sys
import time

import pytest
import requests

from storefront.plugins import manager
from storefront.testing import app_environment, serve

pytestmark = pytest.mark.slow

HERE = os.path.dirname(os.path.abspath(__file__))
WITHIN_SECONDS = 5.0


@pytest.fixture
def shop_config(database_url):
    return {"DATABASE_URL": database_url, "SECRET_KEY": "live-switching-secret", "LOG_LEVEL": "WARNING",
            "PLUGINS_AUTOLOAD": False, "PLUGINS_EXTRA": ["live_probe_plugin", "live_observer_plugin"]}


@pytest.fixture
def served(make_app, shop_config, monkeypatch, tmp_path):
    # The served process and the CLI import the probe plugins from this folder.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")])))
    back_office = make_app(**shop_config)  # creates the schema; same database as the served shop
    with serve(shop_config, instance_path=str(tmp_path / "served")) as base:
        yield back_office, base


def wait_until(condition, timeout: float = WITHIN_SECONDS) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"not within {timeout} s")


def shipping_plugins(base: str) -> list[str]:
    return requests.get(f"{base}/_plugin_observer/shipping", timeout=5).json()["plugins"]


def probe_page(base: str) -> int:
    return requests.get(f"{base}/_plugin_probe/hello", timeout=5).status_code


def test_a_plugin_disabled_from_the_cli_stops_being_called_in_a_running_process(served, shop_config):
    _back_office, base = served
    assert shipping_plugins(base) == ["probe"] and probe_page(base) == 200

    cli = subprocess.run([sys.executable, "-m", "flask", "--app", "storefront", "plugins", "disable", "probe"],
                         env=app_environment(shop_config), capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr

    wait_until(lambda: shipping_plugins(base) == [] and probe_page(base) == 404)


def test_a_plugin_enabled_again_is_called_again_in_a_running_process(served):
    back_office, base = served
    with back_office.app_context():
        manager.set_enabled("probe", False)
    wait_until(lambda: shipping_plugins(base) == [])

    with back_office.app_context():
        manager.set_enabled("probe", True)

    wait_until(lambda: shipping_plugins(base) == ["probe"] and probe_page(base) == 200)
