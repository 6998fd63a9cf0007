import os
import shutil
import subprocess
import sys

import pytest

from storefront.testing import app_environment


def test_the_storefront_console_script_works_outside_the_repository(tmp_path, database_url):
    script = shutil.which("storefront", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.fail("the storefront console script is not installed (pip install -e .)")
    env = app_environment({"DATABASE_URL": database_url, "SECRET_KEY": "console-script-secret",
                           "REDIS_URL": None})
    env.pop("FLASK_APP", None)
    result = subprocess.run([script, "jobs", "periodic"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "sessions.remove_expired" in result.stdout


def test_production_cli_without_a_secret_key_explains_how_to_set_one(tmp_path):
    env = app_environment({"SECRET_KEY": None, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    env.update(FLASK_APP="storefront", STOREFRONT_INSTANCE_PATH=str(tmp_path))
    env.pop("FLASK_DEBUG", None)
    result = subprocess.run([sys.executable, "-m", "flask", "sessions", "cleanup"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Refusing to start in production with the default SECRET_KEY" in result.stderr
