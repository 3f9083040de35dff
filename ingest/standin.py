"""A loopback stand-in for Crossref, OpenAlex and doi.org, for the tests and the benchmark.

A real HTTP server (`ThreadingHTTPServer` on 127.0.0.1, a free port) that serves canned responses
and measures, on the server side, what a polite client must respect: request arrival times per
service and how many requests were in flight at once. Point `kb ingest` at it with `env()`.

Routes: `/crossref/works/{doi}`, `/openalex/works/https://doi.org/{doi}`, `/doi/{doi}` (a 302 to
`/transform/{doi}` when that DOI has a doi.org response, else doi.org's HTML 404).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

NOT_FOUND = {
    "crossref": (b"Resource not found.", "text/plain"),
    "openalex": (b"<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>", "text/html; charset=utf-8"),
    "doi.org": (b"<html><title>Error: DOI Not Found</title></html>", "text/html;charset=utf-8"),
}  # fmt: skip
MAX_DELAY = 5.0  # a handler never sleeps longer than this, so the server always stops promptly


@dataclass
class Canned:
    """One response. `delay` seconds pass before it is sent (to provoke client timeouts)."""

    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Hit:
    service: str
    path: str
    at: float  # time.monotonic() on arrival
    in_flight: int  # requests to this service in flight, this one included


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class StandIn:
    """`with StandIn(limits={"crossref": (20, 1.0, 3)}) as s: s.add("crossref", doi, Canned(...))`."""

    def __init__(self, limits: dict[str, tuple[int, float, int]] | None = None):
        self.limits = dict(limits or {})
        self.scripts: dict[tuple[str, str], list[Canned]] = {}
        self.hits: list[Hit] = []
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base = ""

    # ------------------------------------------------------------ set-up

    def add(self, service: str, doi: str, *responses: Canned) -> None:
        """Responses for one DOI, served in order; the last one is repeated."""
        self.scripts[(service, doi.lower())] = list(responses)

    def env(self) -> dict[str, str]:
        return {
            "KB_CROSSREF_URL": f"{self.base}/crossref",
            "KB_OPENALEX_URL": f"{self.base}/openalex",
            "KB_DOI_URL": f"{self.base}/doi",
        }

    def start(self) -> StandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                stand_in._handle(self)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ serving

    def _route(self, path: str) -> tuple[str, str]:
        path = unquote(urlsplit(path).path)
        for prefix, service in (
            ("/crossref/works/", "crossref"),
            ("/openalex/works/https://doi.org/", "openalex"),
            ("/doi/", "doi.org"),
            ("/transform/", "transform"),
        ):
            if path.startswith(prefix):
                return service, path[len(prefix) :].lower()
        return "unknown", path

    def _next(self, service: str, doi: str) -> Canned | None:
        with self._lock:
            script = self.scripts.get((service, doi))
            if not script:
                return None
            return script.pop(0) if len(script) > 1 else script[0]

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        service, doi = self._route(req.path)
        with self._lock:
            self._in_flight[service] = self._in_flight.get(service, 0) + 1
            self.hits.append(Hit(service, req.path, time.monotonic(), self._in_flight[service]))
        try:
            if service == "doi.org" and ("doi.org", doi) in self.scripts:
                canned = Canned(302, b"", "text/html", {"Location": f"/transform/{doi}"})
            else:
                canned = self._next("doi.org" if service == "transform" else service, doi)
            if canned is None:
                body, ctype = NOT_FOUND.get(service, (b"not found", "text/plain"))
                canned = Canned(404, body, ctype)
            time.sleep(min(canned.delay, MAX_DELAY))
        finally:
            # in flight ends when the answer starts: a client that reads it may send the next at once
            with self._lock:
                self._in_flight[service] -= 1
        headers = {"Content-Type": canned.content_type, **canned.headers}
        limit = self.limits.get("crossref" if service in ("transform", "doi.org") else service)
        if limit:
            headers |= {
                "x-rate-limit-limit": str(limit[0]),
                "x-rate-limit-interval": f"{limit[1]:g}s",
                "x-concurrency-limit": str(limit[2]),
            }
        try:
            req.send_response(canned.status)
            for key, value in headers.items():
                req.send_header(key, value)
            req.send_header("Content-Length", str(len(canned.body)))
            req.end_headers()
            req.wfile.write(canned.body)
        except OSError:  # the client gave up (timeout) and closed the connection
            pass

    # ------------------------------------------------------------ measurements

    def count(self, service: str | None = None) -> int:
        return sum(1 for h in self.hits if service in (None, h.service))

    def max_in_window(self, service: str, window: float = 1.0) -> int:
        """Most arrivals to `service` within any `window` seconds."""
        times = sorted(h.at for h in self.hits if h.service == service)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def max_in_flight(self, service: str) -> int:
        return max((h.in_flight for h in self.hits if h.service == service), default=0)
