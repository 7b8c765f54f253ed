"""Real receivers for the delivery tests: an SMTP server and an HTTP webhook, on free ports.

`mailbox` and `webhook` start one for the test and point the app's settings at it. The webhook
records every request it is sent and can be told to answer 500, to take its time (longer than
the sender's timeout, say) or to be down.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An SMTP server (aiosmtpd) that keeps every message it is sent; `stop()` and `start()`:
    down and back."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._controller = None

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Webhook:
    """An HTTP receiver in a thread. `status`: what it answers; `delay`: seconds it waits before
    answering; `answer`: the JSON body of its answer; `stop()` and `start()`: down and back."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.received: list[Received] = []
        self.status, self.delay, self.answer = 200, 0.0, {"errcode": 0, "errmsg": "ok"}
        self._lock = threading.Lock()
        self._server = None

    def __call__(self, environ, start_response):
        request = Request(environ)
        with self._lock:
            self.received.append(Received(
                request.path, {k: v[0] for k, v in parse_qs(request.query_string.decode()).items()},
                Headers(request.headers), request.get_data()))
        time.sleep(self.delay)
        return Response(json.dumps(self.answer), self.status,
                        content_type="application/json")(environ, start_response)

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def deliveries(self) -> Counter:
        """How many requests arrived for each notice id (X-ButlerDesk-Delivery)."""
        with self._lock:
            return Counter(int(r.headers["X-ButlerDesk-Delivery"]) for r in self.received)


@pytest.fixture
def mailbox(app):
    """A real SMTP server; the app sends its email there."""
    box = Mailbox()
    box.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=box.port)
    yield box
    box.stop()


@pytest.fixture
def webhook(app):
    """A real webhook receiver; the app's group webhook (generic, signed) points at it."""
    receiver = Webhook()
    receiver.start()
    app.config.update(WEBHOOK_URL=f"{receiver.url}/hook?key=robot", WEBHOOK_FORMAT="generic",
                      WEBHOOK_SECRET="webhook-secret")
    yield receiver
    receiver.stop()
