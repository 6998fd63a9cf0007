"""Fixtures for the plugin-system tests."""
import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

from storefront.plugins import manager
from storefront.plugins.manager import ENTRY_POINT_GROUP


@pytest.fixture
def fake_installed(monkeypatch, tmp_path):
    """Pretend plugins are installed: ``fake_installed(name=source, …)`` writes each
    module ``fake_<name>`` and lists it as an entry point (nothing else installed)."""

    def install(**sources: str) -> None:
        points = []
        for name, source in sources.items():
            (tmp_path / f"fake_{name}.py").write_text(textwrap.dedent(source))
            points.append(EntryPoint(name, f"fake_{name}", ENTRY_POINT_GROUP))
            sys.modules.pop(f"fake_{name}", None)
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.setattr(manager, "entry_points", lambda group: points if group == ENTRY_POINT_GROUP else [])

    yield install
    for module in [m for m in sys.modules if m.startswith("fake_")]:
        del sys.modules[module]
