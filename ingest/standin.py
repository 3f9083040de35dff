"""A loopback stand-in for Crossref, OpenAlex and doi.org, for the tests and the benchmark.

Real HTTP servers (`ThreadingHTTPServer` on 127.0.0.1), one per host as in the real world, that
serve canned responses and measure, on the server side, what a polite client must respect: request
arrival times and how many requests were in flight at once, per route and per host. Point
`kb ingest` at them with `env()`.

Hosts and routes (service names in brackets, as `add()`, `hits` and the measurements use them):
- `api.crossref.org`: `/works/{doi}` [crossref], `/works?filter=updates:{doi}` [updates, a
  `work-list`; empty unless scripted], `/v1/works/{doi}/transform` [transform, serves the
  doi.org-scripted CSL-JSON]
- `doi.org`: `/{doi}` [doi.org]: a 302 to Crossref's transform endpoint when that DOI has a doi.org
  response (as the recorded redirect does), else doi.org's HTML 404
- `api.openalex.org`: `/works/https://doi.org/{doi}` [openalex]

`limits={"crossref": (rate, interval, in flight)}` is advertised on every response of that host
(404s included), as Crossref does; doi.org advertises nothing unless given limits of its own.

Hostile answers, for the tests that prove ingest survives them: a body sent `repeat` times (50 MB
without holding 50 MB), with or without a Content-Length; a gzip bomb (a compressed `body` with
`Content-Encoding: gzip`); a response dripped a byte at a time (`drip` seconds apart, from the
status line or from the body); a redirect anywhere (`Canned(302, headers={"Location": ...})`, or
`redirect_doi()` for doi.org's). Every loop is bounded: a drip stops after `MAX_DRIP` seconds.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

CROSSREF, DOI_ORG, OPENALEX = "api.crossref.org", "doi.org", "api.openalex.org"
HOSTS = (CROSSREF, DOI_ORG, OPENALEX)
# The service whose advertised limits a host sends.
HOST_SERVICE = {CROSSREF: "crossref", DOI_ORG: "doi.org", OPENALEX: "openalex"}
NOT_FOUND = {
    "crossref": (b"Resource not found.", "text/plain"),
    "transform": (b"Resource not found.", "text/plain"),
    "openalex": (b"<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>", "text/html; charset=utf-8"),
    "doi.org": (b"<html><title>Error: DOI Not Found</title></html>", "text/html;charset=utf-8"),
}  # fmt: skip
MAX_DELAY = 5.0  # a handler never sleeps longer than this, so the server always stops promptly
MAX_DRIP = 30.0  # a dripped response is abandoned after this long


def work_list(items: list[dict[str, Any]]) -> bytes:
    """A Crossref `/works?filter=...` answer: the list shape of the REST API around `items`."""
    return json.dumps(
        {
            "status": "ok",
            "message-type": "work-list",
            "message-version": "1.0.0",
            "message": {
                "facets": {},
                "total-results": len(items),
                "items": items,
                "items-per-page": 20,
                "query": {"start-index": 0, "search-terms": None},
            },
        }
    ).encode()


@dataclass
class Canned:
    """One response. `delay` seconds pass before it is sent (to provoke client timeouts).

    `repeat`: the body is sent that many times over; `length`: send a Content-Length (else the
    body ends when the connection closes); `drip`: seconds between single bytes, from the body
    on, or from the status line on when `drip_headers`.
    """

    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    repeat: int = 1
    length: bool = True
    drip: float = 0.0
    drip_headers: bool = False


@dataclass
class Hit:
    service: str
    host: str
    path: str
    at: float  # time.monotonic() on arrival
    in_flight: int  # requests to this service in flight, this one included
    host_in_flight: int  # requests to this host in flight, this one included


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up (it gave up on a drip, refused a flood) is not news."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StandIn:
    """`with StandIn(limits={"crossref": (20, 1.0, 3)}) as s: s.add("crossref", doi, Canned(...))`."""

    def __init__(self, limits: dict[str, tuple[int, float, int]] | None = None):
        self.limits = dict(limits or {})
        self.scripts: dict[tuple[str, str], list[Canned]] = {}
        self.hits: list[Hit] = []
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._servers: dict[str, _Server] = {}
        self.bases: dict[str, str] = {}
        self.redirects: dict[str, str] = {}

    # ------------------------------------------------------------ set-up

    def add(self, service: str, doi: str, *responses: Canned) -> None:
        """Responses for one DOI, served in order; the last one is repeated.

        service: `crossref`, `updates` (the notices list), `doi.org` (served, after the redirect,
        by Crossref's transform endpoint) or `openalex`.
        """
        self.scripts[(service, doi.lower())] = list(responses)

    def redirect_doi(self, doi: str, location: str) -> None:
        """doi.org answers `doi` with a 302 to `location` (instead of Crossref's transform)."""
        self.redirects[doi.lower()] = location

    @property
    def base(self) -> str:
        """Crossref's base URL (kept for callers that knew one server)."""
        return self.bases[CROSSREF]

    def env(self) -> dict[str, str]:
        return {
            "KB_CROSSREF_URL": self.bases[CROSSREF],
            "KB_OPENALEX_URL": self.bases[OPENALEX],
            "KB_DOI_URL": self.bases[DOI_ORG],
        }

    def start(self) -> StandIn:
        for host in HOSTS:
            self._servers[host] = server = _Server(("127.0.0.1", 0), self._handler(host))
            self.bases[host] = f"http://127.0.0.1:{server.server_address[1]}"
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()
        return self

    def _handler(self, host: str) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                stand_in._handle(host, self)

        return Handler

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ serving

    def _route(self, host: str, target: str) -> tuple[str, str]:
        parts = urlsplit(target)
        path = unquote(parts.path)
        if host == CROSSREF:
            if path == "/works":
                filters = (parse_qs(parts.query).get("filter") or [""])[0]
                if filters.startswith("updates:"):
                    return "updates", filters.removeprefix("updates:").lower()
            if path.startswith("/v1/works/") and path.endswith("/transform"):
                return "transform", path[len("/v1/works/") : -len("/transform")].lower()
            if path.startswith("/works/"):
                return "crossref", path[len("/works/") :].lower()
        elif host == OPENALEX and path.startswith("/works/https://doi.org/"):
            return "openalex", path[len("/works/https://doi.org/") :].lower()
        elif host == DOI_ORG and path.startswith("/10."):
            return "doi.org", path[1:].lower()
        return "unknown", path

    def _next(self, service: str, doi: str) -> Canned | None:
        with self._lock:
            script = self.scripts.get((service, doi))
            if not script:
                return None
            return script.pop(0) if len(script) > 1 else script[0]

    def _answer(self, service: str, doi: str) -> Canned:
        if service == "doi.org" and doi in self.redirects:
            return Canned(302, b"", "text/html", {"Location": self.redirects[doi]})
        if service == "doi.org" and ("doi.org", doi) in self.scripts:
            location = f"{self.bases[CROSSREF]}/v1/works/{quote(doi, safe='')}/transform"
            return Canned(302, b"", "text/html;charset=utf-8", {"Location": location})
        canned = self._next("doi.org" if service == "transform" else service, doi)
        if canned is None and service == "updates":
            canned = Canned(body=work_list([]))  # no notice updates this DOI
        if canned is None:
            body, ctype = NOT_FOUND.get(service, (b"not found", "text/plain"))
            canned = Canned(404, body, ctype)
        return canned

    def _handle(self, host: str, req: BaseHTTPRequestHandler) -> None:
        service, doi = self._route(host, req.path)
        with self._lock:
            for key in (service, host):
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
            self.hits.append(
                Hit(service, host, req.path, time.monotonic(), self._in_flight[service],
                    self._in_flight[host])
            )  # fmt: skip
        try:
            canned = self._answer(service, doi)
            time.sleep(min(canned.delay, MAX_DELAY))
        finally:
            # in flight ends when the answer starts: a client that reads it may send the next at once
            with self._lock:
                for key in (service, host):
                    self._in_flight[key] -= 1
        headers = {"Content-Type": canned.content_type, **canned.headers}
        limit = self.limits.get(HOST_SERVICE[host])
        if limit:
            headers |= {
                "x-rate-limit-limit": str(limit[0]),
                "x-rate-limit-interval": f"{limit[1]:g}s",
                "x-concurrency-limit": str(limit[2]),
            }
        if canned.length:
            headers["Content-Length"] = str(len(canned.body) * canned.repeat)
        else:
            headers["Connection"] = "close"
            req.close_connection = True
        head = f"HTTP/1.1 {canned.status} {req.responses.get(canned.status, ('',))[0]}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        try:
            if canned.drip and canned.drip_headers:
                self._drip(req, head.encode() + canned.body, canned.drip)
                return
            if canned.drip:
                req.wfile.write(head.encode())
                self._drip(req, canned.body, canned.drip)
                return
            req.wfile.write(head.encode() + canned.body)  # one write: no wait for an ACK
            for _ in range(canned.repeat - 1):
                req.wfile.write(canned.body)
        except OSError:  # the client gave up (timeout, too large) and closed the connection
            req.close_connection = True

    @staticmethod
    def _drip(req: BaseHTTPRequestHandler, data: bytes, pause: float) -> None:
        """Send data a byte at a time, `pause` seconds apart, for at most MAX_DRIP seconds."""
        req.close_connection = True
        stop = time.monotonic() + MAX_DRIP
        for i in range(len(data)):
            if time.monotonic() > stop:
                return
            req.wfile.write(data[i : i + 1])
            req.wfile.flush()
            time.sleep(pause)

    # ------------------------------------------------------------ measurements

    def _of(self, name: str | None) -> list[Hit]:
        """Hits of a service (`crossref`, `transform`, ...) or of a host (`api.crossref.org`)."""
        return [h for h in self.hits if name in (None, h.service, h.host)]

    def count(self, name: str | None = None) -> int:
        return len(self._of(name))

    def max_in_window(self, name: str, window: float = 1.0) -> int:
        """Most arrivals to a service or host within any `window` seconds."""
        times = sorted(h.at for h in self._of(name))
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def max_in_flight(self, name: str) -> int:
        """Most requests in flight at once to a service, or to a host (all its routes together)."""
        return max(
            (h.host_in_flight if name in HOSTS else h.in_flight for h in self._of(name)),
            default=0,
        )
