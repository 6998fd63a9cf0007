"""The hook reference in ``docs/plugins.md``, generated from :mod:`.hookspecs`.

The guide is hand-written except the part between :data:`BEGIN` and :data:`END`,
which ``flask plugins docs`` rewrites from the hookspec docstrings (and
``flask plugins docs --check`` verifies, as the test suite does). So the docstrings
stay the single source of each hook's documentation.
"""
from __future__ import annotations

import inspect
import os
import re

from ..config import PROJECT_ROOT
from . import hookspecs
from .manager import HOOK_PREFIX, PROJECT_NAME, SLOT_PREFIX

GUIDE_PATH = os.path.join(PROJECT_ROOT, "docs", "plugins.md")
BEGIN = ("<!-- hook-reference:begin — generated from storefront/plugins/hookspecs.py by "
         "`flask plugins docs`; edit the docstrings, not this part -->")
END = "<!-- hook-reference:end -->"

_BANNER = re.compile(r"^# -{20,}\n# (?P<title>.+)\n# -{20,}\n", re.MULTILINE)
_ROLE = re.compile(r":(?:class|func|mod|meth|data):`~?(?P<target>[^`]+)`")


def hook_sections() -> list[tuple[str, list[str]]]:
    """``[(section title, [hook names in file order])]`` from the banner comments."""
    source = inspect.getsource(hookspecs)
    banners = list(_BANNER.finditer(source))
    sections = []
    for index, banner in enumerate(banners):
        end = banners[index + 1].start() if index + 1 < len(banners) else len(source)
        names = re.findall(rf"^def ({HOOK_PREFIX}\w+)\(", source[banner.end():end], re.MULTILINE)
        sections.append((banner.group("title"), names))
    return sections


def _markdown(docstring: str) -> str:
    """reST-ish docstring → Markdown: ``Example::`` blocks become fenced Python."""
    lines = inspect.cleandoc(docstring).splitlines()
    out: list[str] = []
    in_code = False
    for line in lines:
        if in_code and line and not line.startswith("    "):
            out.append("```")
            in_code = False
        if line.rstrip().endswith("::"):
            out.append(line.rstrip()[:-1])
            out.append("")
            out.append("```python")
            in_code = True
            continue
        if in_code:
            if line.strip() or out[-1] != "```python":
                out.append(line[4:] if line.startswith("    ") else line)
            continue
        line = _ROLE.sub(lambda m: f"`{m.group('target').rsplit('.', 1)[-1]}`", line)
        out.append(line.replace("``", "`"))
    while in_code and out and not out[-1].strip():
        out.pop()
    if in_code:
        out.append("```")
    return "\n".join(out)


def render_hook_reference() -> str:
    """The generated Markdown: one heading per section, one per hook, with its shape."""
    parts = [BEGIN, ""]
    for title, names in hook_sections():
        parts += [f"### {title}", ""]
        for name in names:
            spec = getattr(hookspecs, name)
            options = spec.__dict__.get(f"{PROJECT_NAME}_spec", {}) or {}
            signature = str(inspect.signature(spec)).replace("'", "")
            if name.startswith(SLOT_PREFIX):
                shape = "answers are joined in plugin order (Markup as is, str escaped)"
            elif options.get("firstresult"):
                shape = "first result wins (stops at the first non-None answer)"
            elif signature.endswith("-> None"):
                shape = "every plugin is called; the return value is ignored"
            else:
                shape = "answers are collected from every plugin"
            parts += [f"#### `{name}{signature}`", "", f"*Shape: {shape}.*", "",
                      _markdown(spec.__doc__ or "(undocumented)"), ""]
    parts.append(END)
    return "\n".join(parts)


def update_guide(path: str = GUIDE_PATH, *, write: bool = True) -> bool:
    """Replace the generated part of the guide at ``path``; True when it changed."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path} has no hook-reference markers:\n{BEGIN}\n{END}")
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    new = head + render_hook_reference() + tail
    if new != text and write:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(new)
    return new != text
