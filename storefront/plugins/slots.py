"""Template slots: places in templates where plugins add HTML.

A template writes ``{{ slot("product_detail", product=product) }}``; every enabled
plugin implementing ``storefront_tpl_product_detail`` is asked, and the answers are
joined in plugin order. Registered as the Jinja global ``slot`` by the plugin system.
"""
from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from . import manager


def slot_names() -> tuple[str, ...]:
    """Every slot a template may render: the ``storefront_tpl_*`` hookspecs."""
    from . import hookspecs

    return tuple(sorted(name[len(manager.SLOT_PREFIX):] for name in vars(hookspecs)
                        if name.startswith(manager.SLOT_PREFIX)))


def render_slot(name: str, **context: Any) -> Markup:
    """Render slot ``name``: the joined answers of every enabled plugin.

    * a :class:`~markupsafe.Markup` answer is injected as is, a plain ``str`` is
      escaped, ``None`` adds nothing;
    * context the slot's spec names but the template did not pass is ``None``;
    * an unknown slot name, or context the slot does not take, raises ValueError
      (a typo in a template must not fail silently);
    * a plugin that raises, or answers something else, is left out of the page (logged
      and counted; re-raised in tests with ``PLUGINS_RAISE_ERRORS``).
    """
    hook_name = manager.SLOT_PREFIX + name
    if name not in slot_names():
        raise ValueError(f"unknown template slot {name!r}; slots are: {', '.join(slot_names())}")
    spec = getattr(manager.state().pm.hook, hook_name).spec
    unknown = set(context) - set(spec.argnames)
    if unknown:
        raise ValueError(f"slot {name!r} takes {list(spec.argnames) or 'no context'}, "
                         f"not {sorted(unknown)}")
    arguments = {arg: context.get(arg) for arg in spec.argnames}
    parts: list[Markup] = []
    for plugin, call in manager.implementations(hook_name, arguments):
        try:
            value = call()
            if value is None:
                continue
            if not isinstance(value, str):
                raise TypeError(f"{hook_name} must return Markup, str or None, "
                                f"got {type(value).__name__}")
        except Exception as exc:  # noqa: BLE001 - one plugin must not break the page
            manager.contain(plugin, hook_name, exc)
            continue
        # Markup is a str subclass: escape() leaves it alone and escapes plain text.
        parts.append(escape(value))
    return Markup("").join(parts)
