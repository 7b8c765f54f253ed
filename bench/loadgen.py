"""A small HTTP/1.1 load generator: asyncio over raw sockets, one process, no dependencies.

Each of N clients repeats "create a ticket, then fire a trigger on it" (POST /api/v1/tickets, then
POST /api/v1/tickets/ID/fire with the version read), keeping its connection alive when the server
allows it and reconnecting when the server closes it (gunicorn's sync workers close after every
response; the reconnect is part of the latency, as it is for any client of such a server).

Three modes:
  closed  every client sends its next request as soon as the previous one is answered: the
          server's throughput at saturation (latency is then mostly queueing: N / throughput);
  login   like closed, but each client logs in over and over (POST /api/v1/tokens with a
          username and password): run beside a closed create + fire load, it shows whether
          logins fail while others write;
  paced   every client starts an iteration every N / RATE seconds (random phase); latency is
          measured from the scheduled start, so a slow answer delays nothing it should not
          (no coordinated omission). RATE below the saturation throughput shows the latency a
          request meets when the server is not the bottleneck.

Prints one JSON object: requests, errors, throughput, latency percentiles per call and overall,
and the client's own CPU time.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import secrets
import time
from urllib.parse import urlsplit

RUN = secrets.token_hex(4)  # this run's, in every title


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.connects = 0

    async def request(self, method: str, path: str, body: dict, token: str | None):
        payload = json.dumps(body).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "Content-Type: application/json\r\nAccept: application/json\r\n"
                "Connection: keep-alive\r\n"
                f"Content-Length: {len(payload)}\r\n")
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        data = head.encode() + b"\r\n" + payload
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.connects += 1
                fresh = True
            else:
                fresh = False
            try:
                self.writer.write(data)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if fresh or attempt == 2:
                    raise
        raise ConnectionError("unreachable")

    async def _response(self):
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, close = 0, False
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, body

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def login_client(number: int, args, deadline: float, measure_from: float, results: dict):
    """Log in, again and again, until the deadline (each answer must be 201)."""
    url = urlsplit(args.url)
    connection = Connection(url.hostname, url.port or 80)
    while (start := time.perf_counter()) < deadline:
        measuring = start >= measure_from
        try:
            status, _body = await connection.request(
                "POST", "/api/v1/tokens", {"username": args.username, "password": args.password},
                None)
        except (OSError, asyncio.IncompleteReadError) as exc:
            results["errors"] += measuring
            results["exceptions"][type(exc).__name__] = (
                results["exceptions"].get(type(exc).__name__, 0) + 1)
            connection.close()
            await asyncio.sleep(0.05)
            continue
        if status != 201:
            results["errors"] += measuring
            results["statuses"][status] = results["statuses"].get(status, 0) + 1
        elif measuring:
            results["login"].append(time.perf_counter() - start)
    results["connects"] += connection.connects
    connection.close()


async def client(number: int, args, deadline: float, measure_from: float, results: dict):
    url = urlsplit(args.url)
    connection = Connection(url.hostname, url.port or 80)
    rng = random.Random(number)
    interval = args.clients / args.iterations_per_s if args.mode == "paced" else 0.0
    next_start = time.perf_counter() + rng.random() * interval
    units = args.units
    # Never the same words twice, nor those of an earlier run (the same clients pick the same
    # units): a repeat within the rules' repeat_within is refused as sent already (409).
    serial = itertools.count()
    while True:
        if args.mode == "paced":
            delay = next_start - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            scheduled = next_start
            next_start += interval
        else:
            scheduled = time.perf_counter()
        if scheduled >= deadline:
            break
        measuring = scheduled >= measure_from
        try:
            start = scheduled
            status, body = await connection.request(
                "POST", "/api/v1/tickets",
                {"kind": "repair", "title": f"压测 Load test {RUN} {number}.{next(serial)}",
                 "unit_id": rng.choice(units)},
                args.token)
            created = time.perf_counter()
            if status != 201:
                results["errors"] += measuring
                results["statuses"][status] = results["statuses"].get(status, 0) + 1
                continue
            ticket = json.loads(body)
            status, body = await connection.request(
                "POST", f"/api/v1/tickets/{ticket['id']}/fire",
                {"trigger": "dispatch", "version": ticket["version"],
                 "technician_id": args.technician}, args.token)
            fired = time.perf_counter()
            if status != 200:
                results["errors"] += measuring
                results["statuses"][status] = results["statuses"].get(status, 0) + 1
                continue
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            results["errors"] += measuring
            results["exceptions"][type(exc).__name__] = (
                results["exceptions"].get(type(exc).__name__, 0) + 1)
            connection.close()
            await asyncio.sleep(0.05)
            continue
        if measuring:
            results["create"].append(created - start)
            results["fire"].append(fired - created)
    results["connects"] += connection.connects
    connection.close()


def summary(values: list[float]) -> dict:
    if not values:  # every request failed: the same keys, so a report shows it rather than fails
        return {"n": 0, **{key: float("nan") for key in ("p50_ms", "p90_ms", "p99_ms", "max_ms",
                                                          "mean_ms")}}
    ordered = sorted(values)

    def pct(p):
        return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))]

    return {"n": len(ordered), "p50_ms": pct(50) * 1000, "p90_ms": pct(90) * 1000,
            "p99_ms": pct(99) * 1000, "max_ms": ordered[-1] * 1000,
            "mean_ms": sum(ordered) / len(ordered) * 1000}


async def run(args) -> dict:
    results = {"create": [], "fire": [], "login": [], "errors": 0, "statuses": {},
               "exceptions": {}, "connects": 0}
    start = time.perf_counter()
    measure_from = start + args.warmup
    deadline = measure_from + args.duration
    one = login_client if args.mode == "login" else client
    await asyncio.gather(*(one(n, args, deadline, measure_from, results)
                           for n in range(args.clients)))
    elapsed = time.perf_counter() - measure_from
    requests = len(results["create"]) + len(results["fire"]) + len(results["login"])
    cpu = os.times()
    return {
        "mode": args.mode, "clients": args.clients, "rate": args.rate,
        "seconds": round(elapsed, 2), "requests": requests,
        "throughput_rps": requests / elapsed, "errors": results["errors"],
        "statuses": results["statuses"], "exceptions": results["exceptions"],
        "connects": results["connects"],
        "all": summary(results["create"] + results["fire"] + results["login"]),
        "create": summary(results["create"]), "fire": summary(results["fire"]),
        "login": summary(results["login"]),
        "client_cpu_s": cpu.user + cpu.system,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="create + fire load generator")
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", default=None)
    parser.add_argument("--mode", choices=("closed", "paced", "login"), default="closed")
    parser.add_argument("--username", default=None, help="login: who logs in")
    parser.add_argument("--password", default=None, help="login: their password")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rate", type=float, default=0.0, help="paced: requests per second")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--units", type=lambda s: [int(x) for x in s.split(",")], default=[1])
    parser.add_argument("--technician", type=int, default=1)
    args = parser.parse_args()
    if args.mode == "paced" and args.rate <= 0:
        parser.error("--mode paced needs --rate")
    args.iterations_per_s = args.rate / 2  # an iteration is two requests
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
