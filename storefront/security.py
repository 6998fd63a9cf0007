"""Response headers, proxy awareness and other request-wide protections."""
from __future__ import annotations

import re

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

#: Directives plugins may add sources to (``storefront_csp_sources``).
CSP_PLUGIN_DIRECTIVES = ("script-src", "frame-src", "connect-src", "img-src", "style-src", "font-src")
#: A source a plugin may add: an origin, nothing else (no keywords, paths or wildcards but "*.").
CSP_SOURCE = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")
_CSP_CACHE_KEY = "storefront.security.csp"


def init_app(app: Flask) -> None:
    proxies = int(app.config["PROXY_COUNT"])
    if proxies:
        # Trust exactly this many proxies for client address, scheme and host; any more
        # would let a client spoof its address past the rate limiter.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.after_request(add_security_headers)


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def content_security_policy() -> str:
    """``CONTENT_SECURITY_POLICY`` plus the sources enabled plugins contribute
    (``storefront_csp_sources``), cached until a plugin is switched or reconfigured."""
    from .plugins import manager

    base = current_app.config["CONTENT_SECURITY_POLICY"]
    registry = manager.state()
    cached = current_app.extensions.get(_CSP_CACHE_KEY)
    # The registry replaces its hook-caller cache whenever plugin states or settings change.
    if cached is not None and cached[0] is registry.hook_callers and cached[1] == base:
        return cached[2]
    additions: list[tuple[str, str]] = []
    for answer in manager.collect_answers("storefront_csp_sources"):
        pair = answer.value
        if (isinstance(pair, (tuple, list)) and len(pair) == 2 and pair[0] in CSP_PLUGIN_DIRECTIVES
                and isinstance(pair[1], str) and CSP_SOURCE.fullmatch(pair[1])):
            additions.append((pair[0], pair[1]))
        else:
            manager.contain(answer.plugin, "storefront_csp_sources",
                            ValueError(f"refused CSP source {pair!r}: give (directive, origin) with a "
                                       f"directive in {CSP_PLUGIN_DIRECTIVES}"))
    policy = merge_csp(base, additions)
    current_app.extensions[_CSP_CACHE_KEY] = (registry.hook_callers, base, policy)
    return policy


def merge_csp(policy: str, additions: list[tuple[str, str]]) -> str:
    """Add ``(directive, source)`` pairs to ``policy``; a directive it lacks starts from
    its ``default-src`` sources (what the browser used for it until then)."""
    if not additions:
        return policy
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    for directive, source in additions:
        sources = directives.setdefault(directive, list(directives.get("default-src", ["'self'"])))
        if "'none'" in sources:
            sources.remove("'none'")
        if source not in sources:
            sources.append(source)
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())
