"""Which plugins load, which do not, and why — without global state."""
import sys

import pluggy
import pytest

import storefront_flatrate
from storefront.plugins import MenuItem, hookimpl
from storefront.plugins import manager
from storefront.plugins.manager import PluginSetupError, supports_version


COMPATIBLE = 'STOREFRONT_REQUIRES = ">=0.1,<1"\n'


def test_an_installed_plugin_is_loaded_with_its_distribution_metadata(app):
    flatrate = manager.state(app).plugins["flatrate"]

    assert flatrate.loaded and flatrate.plugin is storefront_flatrate
    assert (flatrate.distribution, flatrate.version, flatrate.requires) == (
        "storefront-shipping-flatrate", "0.1.0", ">=0.1,<1")
    assert flatrate.summary.startswith("Flat-rate shipping")


def test_the_core_default_plugins_are_registered_first_and_always_enabled(app):
    registry = manager.state(app)
    core = [info for info in registry.plugins.values() if info.is_core]

    assert [info.module for info in core] == list(manager.CORE_PLUGINS)
    assert all(registry.is_enabled(info.name) for info in core)


def test_a_blocked_plugin_is_never_imported(make_app, fake_installed):
    fake_installed(noisy="raise RuntimeError('imported!')\n")

    app = make_app(PLUGINS_BLOCKED=["noisy"])

    info = manager.state(app).plugins["noisy"]
    assert (info.status, info.reason) == ("blocked", "listed in PLUGINS_BLOCKED: not imported")
    assert "fake_noisy" not in sys.modules


def test_safe_mode_imports_no_installed_plugin(make_app, fake_installed):
    fake_installed(noisy="raise RuntimeError('imported!')\n", quiet=COMPATIBLE)

    app = make_app(PLUGINS_AUTOLOAD=False)

    statuses = {name: info.status for name, info in manager.state(app).plugins.items() if not info.is_core}
    assert statuses == {"noisy": "safe-mode", "quiet": "safe-mode"}
    assert "fake_noisy" not in sys.modules and "fake_quiet" not in sys.modules


def test_a_plugin_for_another_core_version_is_not_registered_and_says_why(make_app, fake_installed):
    fake_installed(future='STOREFRONT_REQUIRES = ">=2"\n'
                          'from storefront.plugins import hookimpl\n'
                          '@hookimpl\ndef storefront_order_placed(order): pass\n')

    app = make_app()

    info = manager.state(app).plugins["future"]
    assert (info.status, info.reason) == ("incompatible", "supports Storefront >=2, this is 0.1.0")
    assert not manager.state(app).pm.is_registered(info.plugin) and info.plugin is None


def test_a_plugin_that_declares_no_core_versions_is_not_registered(make_app, fake_installed):
    fake_installed(vague="")

    info = manager.state(make_app()).plugins["vague"]

    assert info.status == "incompatible" and "declares no STOREFRONT_REQUIRES" in info.reason


def test_a_malformed_version_range_is_reported(make_app, fake_installed):
    fake_installed(sloppy='STOREFRONT_REQUIRES = "about 0.1"\n')

    info = manager.state(make_app()).plugins["sloppy"]

    assert info.status == "incompatible" and "not a version range" in info.reason


def test_a_plugin_that_fails_to_import_does_not_stop_the_shop(make_app, fake_installed, caplog):
    fake_installed(broken="import does_not_exist_anywhere\n", quiet=COMPATIBLE)

    app = make_app()

    assert manager.state(app).plugins["broken"].status == "broken"
    assert "does_not_exist_anywhere" in manager.state(app).plugins["broken"].reason
    assert manager.state(app).plugins["quiet"].loaded
    assert "plugin 'broken' could not be imported" in caplog.text


def test_flask_plugins_list_says_why_a_plugin_is_not_loaded(make_app, fake_installed):
    fake_installed(future='STOREFRONT_REQUIRES = ">=2"\n', noisy="", fine=COMPATIBLE)
    app = make_app(PLUGINS_BLOCKED=["noisy"])

    output = app.test_cli_runner().invoke(args=["plugins", "list"]).output

    lines = {line.split()[0]: line for line in output.splitlines()[1:]}
    assert "incompatible: supports Storefront >=2, this is 0.1.0" in lines["future"]
    assert "blocked: listed in PLUGINS_BLOCKED" in lines["noisy"]
    assert "loaded (supports >=0.1,<1)" in lines["fine"]


def test_a_hook_implementation_without_a_spec_fails_start_up_in_testing(make_app):
    class Typo:
        PLUGIN_NAME = "typo"

        @hookimpl
        def storefront_order_payed(self, order):
            pass

    with pytest.raises(pluggy.PluginValidationError, match="storefront_order_payed"):
        make_app(plugins=(Typo(),))


def test_a_plugin_using_a_hook_wrapper_is_refused(make_app):
    class Wrapper:
        PLUGIN_NAME = "wrapper"

        @hookimpl(wrapper=True)
        def storefront_admin_menu(self):
            return (yield)

    with pytest.raises(PluginSetupError, match="uses a hook wrapper"):
        make_app(plugins=(Wrapper(),))


def test_two_plugins_may_not_share_a_name(make_app):
    class First:
        PLUGIN_NAME = "twin"

    class Second:
        PLUGIN_NAME = "twin"

    with pytest.raises(PluginSetupError, match="name 'twin' is taken"):
        make_app(plugins=(First(), Second()))


def test_each_app_has_its_own_plugin_manager(make_app):
    class Extra:
        PLUGIN_NAME = "extra"

        @hookimpl
        def storefront_admin_menu(self):
            return [MenuItem("Extra", "admin.dashboard")]

    with_extra = make_app(plugins=(Extra(),))
    without = make_app()

    assert "extra" in manager.state(with_extra).plugins
    assert "extra" not in manager.state(without).plugins
    assert manager.state(with_extra).pm is not manager.state(without).pm


def test_a_plugin_passed_to_create_app_that_is_also_installed_loads_once(make_app):
    app = make_app(plugins=(storefront_flatrate,))

    loaded = [info for info in manager.state(app).plugins.values() if info.plugin is storefront_flatrate]
    assert [(info.name, info.source) for info in loaded] == [("flatrate", "installed")]


def test_a_plugin_passed_to_create_app_loads_in_safe_mode_with_its_metadata(make_app):
    app = make_app(plugins=(storefront_flatrate,), PLUGINS_AUTOLOAD=False)

    info = manager.state(app).plugins["flatrate"]
    assert info.loaded and info.distribution == "storefront-shipping-flatrate"


def test_plugins_extra_loads_plugins_by_import_path(make_app):
    app = make_app(PLUGINS_EXTRA=["live_probe_plugin"], PLUGINS_AUTOLOAD=False)

    assert manager.state(app).plugins["probe"].loaded


def test_the_kill_switch_wins_over_loading_by_import_path(make_app):
    app = make_app(plugins=(storefront_flatrate,), PLUGINS_BLOCKED=["flatrate"])

    assert manager.state(app).plugins["flatrate"].status == "blocked"


@pytest.mark.parametrize("requirement, version, fits", [
    (">=0.1,<1", "0.1.0", True), (">=0.1,<1", "1.0", False), (">0.1", "0.1.0", False),
    ("==0.1", "0.1.0", True), ("!=0.1.0", "0.1", False), ("<=0.2", "0.1.5", True),
])
def test_core_version_ranges_are_read_as_pep_440(requirement, version, fits):
    assert supports_version(requirement, version) is fits
    assert manager._supports_version_simple(requirement, version) is fits


def test_a_blocked_plugin_named_by_import_path_is_not_imported(make_app, tmp_path, monkeypatch):
    (tmp_path / "storefront_noisy_extra.py").write_text("raise RuntimeError('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    app = make_app(PLUGINS_EXTRA=["storefront_noisy_extra"], PLUGINS_BLOCKED=["noisy_extra"])

    assert manager.state(app).plugins["noisy_extra"].status == "blocked"
    assert "storefront_noisy_extra" not in sys.modules


def test_the_kill_switch_applies_to_plugin_objects_too(make_app):
    class Gadget:
        PLUGIN_NAME = "gadget"

    app = make_app(plugins=(Gadget(),), PLUGINS_BLOCKED=["gadget"])

    assert manager.state(app).plugins["gadget"].status == "blocked"
