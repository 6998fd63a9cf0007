"""Web processes are stateless: two gunicorn processes share sessions and rate limits."""
import pytest
import requests

from storefront.testing import serve

pytestmark = [pytest.mark.mariadb, pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def two_web_processes(make_app, database_url, redis_url, tmp_path):
    config = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "scale-out-secret",
              "LOG_LEVEL": "WARNING"}
    make_app(**config)  # creates the schema; emptied again after the test
    with serve(config, probe_routes=True, instance_path=str(tmp_path / "a")) as first, \
            serve(config, probe_routes=True, instance_path=str(tmp_path / "b")) as second:
        yield first, second


def test_a_session_started_on_one_process_is_valid_on_the_other(two_web_processes):
    first, second = two_web_processes
    browser = requests.Session()
    assert browser.post(f"{first}/_probe/session", data={"value": "cart-17"}).json() == {"value": "cart-17"}
    assert browser.get(f"{second}/_probe/session").json() == {"value": "cart-17"}


def test_a_session_id_rotated_on_one_process_is_dead_on_the_other(two_web_processes):
    first, second = two_web_processes
    browser = requests.Session()
    browser.post(f"{first}/_probe/session", data={"value": "signed-in"})
    old_cookie = browser.cookies.get("storefront_session")
    assert browser.post(f"{second}/_probe/rotate").json() == {"value": "signed-in"}
    assert browser.cookies.get("storefront_session") != old_cookie
    stale = requests.Session()
    stale.cookies.set("storefront_session", old_cookie)
    assert stale.get(f"{first}/_probe/session").json() == {"value": None}
    assert browser.get(f"{first}/_probe/session").json() == {"value": "signed-in"}


def test_rate_limits_are_counted_across_processes(two_web_processes):
    first, second = two_web_processes
    statuses = [requests.get(f"{base}/_probe/limited").status_code
                for base in (first, second, first, second)]
    assert statuses == [200, 200, 200, 429]
