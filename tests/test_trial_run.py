"""What a merchant sees on a trial run: a fresh instance, migrated, served over HTTP."""
import subprocess
import sys

import pytest
import requests

from storefront.testing import app_environment, free_port, serve

pytestmark = pytest.mark.slow


@pytest.fixture
def fresh_instance(tmp_path, request):
    """A new instance folder with its own SQLite database, migrated like `make demo` does."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text('SECRET_KEY = "trial-run-secret-key-0123456789"\n')
    env = app_environment({})
    env.update(FLASK_APP="storefront", STOREFRONT_INSTANCE_PATH=str(instance))
    for key in ("STOREFRONT_DATABASE_URL", "STOREFRONT_REDIS_URL", "STOREFRONT_SECRET_KEY"):
        env.pop(key, None)
    migrate = subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=request.config.rootpath,
                             env=env, capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    assert (instance / "storefront.db").exists()
    return instance


def test_a_migrated_fresh_instance_serves_home_and_health(fresh_instance):
    with serve({"DATABASE_URL": None, "REDIS_URL": None}, instance_path=str(fresh_instance)) as base:
        home = requests.get(base + "/")
        assert home.status_code == 200 and "Welcome to Storefront" in home.text
        assert requests.get(base + "/healthz").json() == {"status": "ok"}
        assert requests.get(base + "/readyz").json()["checks"] == {"database": "ok"}


def test_with_redis_configured_but_stopped_readyz_names_redis_and_pages_still_serve(fresh_instance):
    stopped_redis = f"redis://127.0.0.1:{free_port()}/0"
    with serve({"DATABASE_URL": None, "REDIS_URL": stopped_redis}, instance_path=str(fresh_instance)) as base:
        ready = requests.get(base + "/readyz")
        assert ready.status_code == 503
        assert ready.json()["failed"] == ["redis"]
        assert requests.get(base + "/").status_code == 200
        assert requests.get(base + "/no-such-page").status_code == 404


@pytest.mark.browser
def test_the_home_page_renders_in_a_real_browser_without_csp_violations(fresh_instance, browser_page):
    problems, failed_assets = [], []
    browser_page.on("console", lambda msg: problems.append(msg.text)
                    if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    browser_page.on("response", lambda r: failed_assets.append(r.url)
                    if r.status >= 400 and r.request.resource_type != "document" else None)
    with serve({"DATABASE_URL": None, "REDIS_URL": None}, instance_path=str(fresh_instance)) as base:
        browser_page.goto(base + "/")
        assert browser_page.title().endswith("Storefront")
        assert browser_page.locator("h1").first.inner_text() == "Welcome to Storefront"
        stylesheet_applied = browser_page.evaluate(
            "getComputedStyle(document.querySelector('.site-header')).display")
        assert stylesheet_applied != ""
        browser_page.goto(base + "/missing-page")
        assert "Page not found" in browser_page.content()
    assert problems == []  # e.g. "Refused to apply inline style" would show here
    assert failed_assets == []


def _token(page: str) -> str:
    import re

    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def test_a_trial_store_with_the_demo_catalog_sells_with_flat_rate_shipping_and_bank_transfer(fresh_instance, request):
    """`make demo`'s store, installed plugins autoloaded: a shopper can buy straight away."""
    import re

    env = app_environment({})
    env.update(FLASK_APP="storefront", STOREFRONT_INSTANCE_PATH=str(fresh_instance))
    env.pop("STOREFRONT_DATABASE_URL", None)
    seeded = subprocess.run([sys.executable, "-m", "flask", "catalog", "seed-demo", "--if-empty"],
                            cwd=request.config.rootpath, env=env, capture_output=True, text=True, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    with serve({"DATABASE_URL": None, "REDIS_URL": None}, instance_path=str(fresh_instance)) as base:
        shopper = requests.Session()
        home = shopper.get(base + "/").text
        product_url = base + re.search(r'href="(/p/[^"]+)"', home).group(1)
        product = shopper.get(product_url).text
        variant_id = re.search(r'name="variant_id" value="(\d+)"', product).group(1)
        assert shopper.post(base + "/cart/add", data={"variant_id": variant_id, "quantity": "1"}).ok
        contact = shopper.get(base + "/checkout").text
        shopper.post(base + "/checkout/contact", data={"email": "trial@example.com", "csrf_token": _token(contact)})
        address = shopper.get(base + "/checkout/address").text
        shopper.post(base + "/checkout/address", data={
            "full_name": "Trial Shopper", "line1": "1 Main Street", "postal_code": "10115", "city": "Berlin",
            "country": "DE", "csrf_token": _token(address)})
        shipping = shopper.get(base + "/checkout/shipping").text
        assert 'value="flatrate:standard"' in shipping
        shopper.post(base + "/checkout/shipping", data={"quote_id": "flatrate:standard",
                                                        "csrf_token": _token(shipping)})
        payment = shopper.get(base + "/checkout/payment").text
        assert 'value="manual"' in payment and "Bank transfer" in payment
        assert 'value="stripe"' not in payment   # installed, but no keys: not offered
        shopper.post(base + "/checkout/payment", data={"gateway_id": "manual", "csrf_token": _token(payment)})
        review = shopper.get(base + "/checkout/review").text
        token = re.search(r'name="checkout_token" value="([^"]+)"', review).group(1)
        placed = shopper.post(base + "/checkout/place", data={"checkout_token": token, "csrf_token": _token(review)})
        assert "/checkout/pay/" in placed.url and "manual-payment-reference" in placed.text   # bank details
        assert list((fresh_instance / "outbox").glob("*.eml"))   # the order confirmation
