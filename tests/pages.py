"""Reading pages in tests: CSRF tokens, logging in through the form, fields and flash messages."""
from __future__ import annotations

import re
from html import unescape

CSRF_INPUT = re.compile(r'<input[^>]*name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"')
# A real 1x1 PNG: uploads are taken for what they contain, not for their names.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a1d3e6e50000000049454e44ae426082")


def csrf_token(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(client, username: str, password: str = "secret"):
    token = csrf_token(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def field_html(html: str, name: str) -> str:
    """The <div class="field"> block of the input named `name` (its label, input and errors)."""
    found = re.search(r'<div class="field[^"]*">\s*<label for="' + re.escape(name) + r'">.*?</div>',
                      html, re.S)
    assert found, f"no field {name} on the page"
    return found.group(0)


def flashes(html: str, category: str = r"\w+") -> list[str]:
    """The flash messages on a page (of one category), unescaped."""
    return [unescape(m) for m in re.findall(
        r'<p class="flash ' + category + r'" role="status">(.*?)</p>', html, re.S)]
