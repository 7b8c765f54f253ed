"""Headers on every answer that tell a browser to keep the pages safe.

The pages load their scripts and styles from this site only (no inline script anywhere), may
not be framed by another site, do not leak their addresses to other sites, and are never
"sniffed" into another type. The server does not name its software's version.
"""
from __future__ import annotations

from flask import Flask, request

_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
CSP = "; ".join(f"{name} {value}" for name, value in _POLICY.items())
# The workflow diagrams: Mermaid draws each as an SVG with a <style> inside. Its scripts still
# come from this site only.
CSP_DIAGRAMS = "; ".join(f"{name} {value}" for name, value in
                         {**_POLICY, "style-src": "'self' 'unsafe-inline'"}.items())
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Server": "ButlerDesk",
}


def init_app(app: Flask) -> None:
    @app.after_request
    def secure_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Server"] = HEADERS["Server"]  # not Werkzeug/3.1 Python/3.11
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        return response
