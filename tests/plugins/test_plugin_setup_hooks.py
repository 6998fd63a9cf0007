"""App-setup hooks: blueprints, CLI commands, migration directories, app ready."""
import click
from alembic.script import ScriptDirectory
import pytest
from flask import Blueprint

from storefront.plugins import hookimpl
from storefront.plugins.manager import PluginSetupError


class Pages:
    PLUGIN_NAME = "pages"

    def __init__(self, blueprint_name: str = "pages"):
        self.blueprint = Blueprint(blueprint_name, __name__, url_prefix="/pages")
        self.blueprint.add_url_rule("/hello", "hello", lambda: "hello from pages")

    @hookimpl
    def storefront_blueprints(self):
        return [self.blueprint]


def test_a_plugin_blueprint_is_served_after_the_core_blueprints(make_app):
    app = make_app(plugins=(Pages(),))

    assert app.test_client().get("/pages/hello").get_data(as_text=True) == "hello from pages"
    names = list(app.blueprints)
    assert names.index("pages") > names.index("admin")


def test_a_blueprint_not_named_after_its_plugin_is_refused(make_app):
    with pytest.raises(PluginSetupError, match="name it 'pages' or 'pages_…'"):
        make_app(plugins=(Pages("catalog_extra"),))


def test_a_plugin_failing_during_setup_stops_start_up_naming_the_kill_switch(make_app):
    class Broken:
        PLUGIN_NAME = "broken"

        @hookimpl
        def storefront_blueprints(self):
            raise RuntimeError("no templates folder")

    with pytest.raises(PluginSetupError, match=r"PLUGINS_BLOCKED = \['broken'\]"):
        make_app(plugins=(Broken(),))


def test_plugin_cli_commands_appear_under_flask_plugins_name(make_app):
    @click.command("hello")
    def hello():
        click.echo("hello from the shell")

    class Shell:
        PLUGIN_NAME = "shell"

        @hookimpl
        def storefront_cli_commands(self):
            return [hello]

    app = make_app(plugins=(Shell(),))

    result = app.test_cli_runner().invoke(args=["plugins", "shell", "hello"])
    assert (result.exit_code, result.output) == (0, "hello from the shell\n")


def test_app_ready_is_the_last_word_and_receives_the_app(make_app):
    seen = []

    class Ready:
        PLUGIN_NAME = "ready"

        @hookimpl
        def storefront_app_ready(self, app):
            seen.append((app, "catalog" in app.blueprints, "plugins" in app.cli.commands))

    app = make_app(plugins=(Ready(),))

    assert seen == [(app, True, True)]


def test_plugin_migration_directories_join_alembics_search_path(make_app, tmp_path):
    class Tables:
        PLUGIN_NAME = "tables"

        @hookimpl
        def storefront_migration_dirs(self):
            return [str(tmp_path)]

    app = make_app(plugins=(Tables(),))

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        scripts = ScriptDirectory.from_config(config)
    assert str(tmp_path) in scripts.version_locations  # installed plugins may add theirs too
    assert scripts.get_heads()  # the core's revisions are still found
