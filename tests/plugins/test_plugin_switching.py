"""Enabling and disabling is data: it applies without a restart, to hooks, pages and jobs."""
import sys

import pytest
from flask import Blueprint

from storefront import jobs
from storefront.jobs import JobRefused
from storefront.money import Money
from storefront.plugins import ShippingQuote, hookimpl
from storefront.plugins import manager
from storefront.plugins.manager import UnknownPlugin


def restock(sku: str) -> str:
    """A job of the warehouse plugin (it lives in the plugin's module)."""
    return f"restocked {sku}"


class Warehouse:
    PLUGIN_NAME = "warehouse"

    def __init__(self):
        self.blueprint = Blueprint("warehouse", __name__, url_prefix="/warehouse")
        self.blueprint.add_url_rule("/stock", "stock", lambda: "12 mugs")

    @hookimpl
    def storefront_blueprints(self):
        return [self.blueprint]

    @hookimpl
    def storefront_shipping_quotes(self, request):
        return [ShippingQuote("warehouse:pickup", "Pick up", Money(0, request.subtotal.currency))]


@pytest.fixture
def shop(make_app):
    app = make_app(plugins=(Warehouse(),), PLUGINS_AUTOLOAD=False)
    with app.app_context():
        yield app


def quoting_plugins(make_shipping_request) -> list[str]:
    answers = manager.collect_answers("storefront_shipping_quotes", request=make_shipping_request())
    return [answer.plugin for answer in answers]


def test_a_newly_seen_plugin_starts_enabled(shop):
    assert manager.state().is_enabled("warehouse")
    assert "warehouse" not in manager.state().states.enabled  # no row needed until switched


def test_a_disabled_plugins_hooks_are_skipped_until_it_is_enabled_again(shop, make_shipping_request):
    manager.set_enabled("warehouse", False)
    assert quoting_plugins(make_shipping_request) == []

    manager.set_enabled("warehouse", True)
    assert quoting_plugins(make_shipping_request) == ["warehouse"]


def test_a_disabled_plugins_pages_answer_404(shop):
    client = shop.test_client()
    assert client.get("/warehouse/stock").status_code == 200

    manager.set_enabled("warehouse", False)

    assert client.get("/warehouse/stock").status_code == 404


def test_a_disabled_plugins_jobs_are_refused(shop):
    assert jobs.enqueue(restock, "MUG").result == "restocked MUG"

    manager.set_enabled("warehouse", False)

    with pytest.raises(JobRefused, match="belongs to plugin 'warehouse', which is disabled"):
        jobs.enqueue(restock, "MUG")


def test_a_worker_refuses_a_job_queued_before_its_plugin_was_disabled(shop, fake_redis):
    from rq import Queue, SimpleWorker

    jobs.state(shop).connection = fake_redis
    try:
        queued = jobs.enqueue(restock, "MUG", retry=False)
        manager.set_enabled("warehouse", False)
        SimpleWorker(["default"], connection=fake_redis).work(burst=True)
    finally:
        jobs.state(shop).connection = None

    job = Queue("default", connection=fake_redis).fetch_job(queued.id)
    assert job.get_status() == "failed" and "JobRefused" in job.latest_result().exc_string


def test_jobs_of_a_blocked_plugin_are_refused_without_importing_it(make_app, fake_installed):
    fake_installed(noisy="raise RuntimeError('imported!')\n")
    app = make_app(PLUGINS_BLOCKED=["noisy"])

    with app.app_context(), pytest.raises(JobRefused, match="listed in PLUGINS_BLOCKED"):
        jobs.enqueue("fake_noisy.tasks:send")
    assert "fake_noisy" not in sys.modules


def test_another_process_on_the_same_database_follows_a_switch(make_app, make_shipping_request):
    back_office = make_app(plugins=(Warehouse(),), PLUGINS_AUTOLOAD=False)
    web = make_app(plugins=(Warehouse(),), PLUGINS_AUTOLOAD=False, PLUGINS_REFRESH_SECONDS=0)
    with web.app_context():
        assert quoting_plugins(make_shipping_request) == ["warehouse"]

    with back_office.app_context():
        manager.set_enabled("warehouse", False)

    with web.app_context():
        assert quoting_plugins(make_shipping_request) == []
        assert web.test_client().get("/warehouse/stock").status_code == 404


def test_a_process_checks_for_switches_at_most_every_refresh_interval(make_app, make_shipping_request):
    back_office = make_app(plugins=(Warehouse(),), PLUGINS_AUTOLOAD=False)
    web = make_app(plugins=(Warehouse(),), PLUGINS_AUTOLOAD=False, PLUGINS_REFRESH_SECONDS=3600)
    with web.app_context():
        manager.refresh(force=True)

    with back_office.app_context():
        manager.set_enabled("warehouse", False)

    with web.app_context():
        assert quoting_plugins(make_shipping_request) == ["warehouse"]  # not checked yet
        manager.state().checked_at -= 3600
        assert quoting_plugins(make_shipping_request) == []


def test_the_core_cannot_be_switched_off(shop):
    core = next(name for name, info in manager.state().plugins.items() if info.is_core)

    with pytest.raises(UnknownPlugin):
        manager.set_enabled(core, False)
    assert manager.state().is_enabled(core)


def test_flask_plugins_disable_and_enable_switch_a_plugin(shop):
    runner = shop.test_cli_runner()

    disabled = runner.invoke(args=["plugins", "disable", "warehouse"])
    assert disabled.exit_code == 0 and "warehouse disabled" in disabled.output
    assert not manager.state().is_enabled("warehouse")
    listing = runner.invoke(args=["plugins", "list"]).output.splitlines()
    assert next(line for line in listing if line.startswith("warehouse")).split()[1:3] == ["-", "no"]

    enabled = runner.invoke(args=["plugins", "enable", "warehouse"])
    assert enabled.exit_code == 0 and manager.state().is_enabled("warehouse")


def test_flask_plugins_enable_names_the_installed_plugins_when_it_does_not_know_one(shop):
    result = shop.test_cli_runner().invoke(args=["plugins", "enable", "warehous"])

    assert result.exit_code == 1
    assert "There is no plugin named 'warehous'. Installed: " in result.output
    installed = result.output.split("Installed: ")[1].strip().rstrip(".").split(", ")
    assert "warehouse" in installed and installed == sorted(installed)  # every installed plugin, sorted


def test_a_blocked_plugin_can_be_switched_and_the_cli_says_it_is_not_loaded(make_app, fake_installed):
    fake_installed(noisy="")
    app = make_app(PLUGINS_BLOCKED=["noisy"])

    with app.app_context():
        result = app.test_cli_runner().invoke(args=["plugins", "disable", "noisy"])

        assert result.exit_code == 0 and "note: noisy is not loaded here (blocked" in result.output
        assert manager.state().states.enabled == {"noisy": False}
