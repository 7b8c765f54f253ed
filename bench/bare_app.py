"""The baseline for the HTTP benchmark: a bare Flask app answering the same two calls with JSON,
touching no database. Served by gunicorn with exactly the settings ButlerDesk gets:

    gunicorn --config gunicorn.conf.py "bench.bare_app:create_app()"
"""
from __future__ import annotations

import itertools

from flask import Flask, jsonify, request


def create_app() -> Flask:
    app = Flask(__name__)
    counter = itertools.count(1)

    @app.post("/api/v1/tickets")
    def create_ticket():
        data = request.get_json()
        return jsonify({"id": next(counter), "version": 1, "kind": data.get("kind"),
                        "title": data.get("title"), "state": "reported"}), 201

    @app.post("/api/v1/tickets/<int:ticket_id>/fire")
    def fire(ticket_id: int):
        data = request.get_json()
        return jsonify({"id": ticket_id, "version": data.get("version", 1) + 1,
                        "state": "dispatched"})

    return app
