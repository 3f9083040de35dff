"""The one HTTP client: timeout, redirects, a User-Agent with a contact, pacing, bounded retries.

Every bound is on the whole of what a server sends, not on one read: `timeout` bounds a response
from the first byte sent to the last byte read (a server that drips a byte a second times out like
a silent one); a response body is read while streaming and stops at `max_bytes` once decoded (a
50 MB answer or a gzip bomb never reaches memory); `Client.budget(seconds)` bounds all the
requests, retries and waits of one DOI. A redirect is followed only to the hosts the caller
allows (its own, and for doi.org the registration agencies' metadata endpoints).

Every request goes through `Client.get`, which never raises for HTTP or network errors: it returns a
`Reply` saying what happened. Pacing is per host, the host that serves each request: redirects are
followed hop by hop, so doi.org's redirect to Crossref's transform endpoint is paced by doi.org and
then by Crossref, and counts against Crossref's limit together with our own Crossref requests. Each
host's pace follows what it advertises on each response (`x-rate-limit-limit`,
`x-rate-limit-interval`, `x-concurrency-limit`), starting from the strictest published limits of the
service it belongs to until its first response arrives.
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from kb import __version__

from .transport import (
    Budget,
    Deadline,
    DeadlineTransport,
    OutOfTime,
    TooLarge,
    origin,
    read_body,
)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Response headers kept beside a raw response (what a reviewer needs to see how it was served).
KEPT_HEADERS = (
    "content-type", "date", "x-api-pool", "x-rate-limit-limit", "x-rate-limit-interval",
    "x-concurrency-limit", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
    "retry-after",
)  # fmt: skip
# Limits used before a host has told us its own (the strictest published ones), by the service
# whose requests first reach it; a host only ever reached through a redirect starts from STRICT.
DEFAULT_LIMITS = {
    "crossref": (5, 1.0, 1),  # Crossref public pool: 5 req/s, 1 in flight
    "crossref-updates": (5, 1.0, 1),  # the notices list, on the same host
    "doi.org": (5, 1.0, 1),  # the DOI resolver publishes no limit: as strict as Crossref
    "openalex": (10, 1.0, 3),  # OpenAlex documents 10 req/s at most
}
STRICT = (5, 1.0, 1)
MAX_REDIRECTS = 5
# A connection is given at most this long, and one retry: an unreachable host is rarely reachable a
# moment later, and the first DOI's verdict ("no network") should not take minutes.
CONNECT_TIMEOUT = 10.0
CONNECT_TRIES = 2
# The most a response body may hold once decoded. Crossref's largest work records (thousands of
# references) are a few MB; anything much larger is not an answer about one DOI.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Seconds one DOI may spend in requests, retries and backoff (waiting for a pacing slot is not
# counted: that is other DOIs' turn, not this DOI's server being slow).
DOI_SECONDS = 90.0
SPENT = "this DOI's time is spent"
# Safety margin on the rate window, so request arrival jitter never puts one request too many in a window.
WINDOW_MARGIN = 0.05


def parse_interval(text: str | None) -> float | None:
    """`1s` -> 1.0, `500ms` -> 0.5, `2` -> 2.0; None when absent or unreadable."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", text)
    if not m:
        return None
    value = float(m.group(1))
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[m.group(2)]


def parse_retry_after(text: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (past dates give 0)."""
    if not text:
        return None
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def _positive_int(text: str | None) -> int | None:
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


class Pacer:
    """At most `limit` request starts in any `interval` window and `concurrency` in flight."""

    def __init__(self, limit: int, interval: float, concurrency: int):
        self.limit, self.interval, self.concurrency = limit, interval, concurrency
        self._cond = threading.Condition()
        self._starts: deque[float] = deque()
        self._in_flight = 0
        self._not_before = 0.0

    def update(self, headers: httpx.Headers) -> None:
        limit = _positive_int(headers.get("x-rate-limit-limit"))
        interval = parse_interval(headers.get("x-rate-limit-interval"))
        concurrency = _positive_int(headers.get("x-concurrency-limit"))
        with self._cond:
            self.limit = limit or self.limit
            self.interval = interval or self.interval
            self.concurrency = concurrency or self.concurrency
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """Hold every request to this service for `seconds` (after a 429)."""
        with self._cond:
            self._not_before = max(self._not_before, time.monotonic() + seconds)
            self._cond.notify_all()

    def _wait_needed(self, now: float) -> float | None:
        """0 when a request may start now, seconds to wait, or None to wait for a slot."""
        if self._in_flight >= self.concurrency:
            return None
        window = self.interval * (1 + WINDOW_MARGIN)
        while self._starts and self._starts[0] <= now - window:
            self._starts.popleft()
        wait = self._not_before - now
        if len(self._starts) >= self.limit:
            wait = max(wait, self._starts[-self.limit] + window - now)
        return max(0.0, wait)

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while True:
                now = time.monotonic()
                wait = self._wait_needed(now)
                if wait == 0.0:
                    break
                self._cond.wait(wait)
            self._in_flight += 1
            self._starts.append(now)
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()


class _OffHost(Exception):
    """A redirect to a host the service may not send us to."""


@dataclass
class Reply:
    """What one (possibly retried) GET produced. `body` is parsed JSON, only for JSON responses."""

    service: str
    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    error: str | None = None
    connect_failed: bool = False  # the service could not be reached at all
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.body is not None and self.error is None

    @property
    def not_found(self) -> bool:
        return self.status in (404, 410)


def _snippet(content: bytes) -> str:
    """A short, tag-free excerpt of an error body for a message (never parsed as JSON)."""
    text = re.sub(r"<[^>]+>", " ", content[:500].decode("utf-8", "replace"))
    return " ".join(text.split())[:120]


class Client:
    """One httpx client shared by all threads; owns timeout, User-Agent, pacing and retries."""

    def __init__(
        self,
        mailto: str | None = None,
        timeout: float = 30.0,
        tries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 120.0,
        max_bytes: int = MAX_BODY_BYTES,
    ):
        contact = f"; mailto:{mailto}" if mailto else ""
        self.mailto = mailto
        self.tries, self.backoff, self.max_wait = max(1, tries), backoff, max_wait
        self.timeout, self.max_bytes = timeout, max_bytes
        self._deadline = Deadline()
        # Redirects are followed by `_send`, one paced hop at a time (see the module docstring).
        self.http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
            follow_redirects=False,
            headers={
                "User-Agent": f"bml-kb/{__version__} (kb ingest{contact})",
                "Accept-Encoding": "gzip, deflate",  # what `read_body` can decode, bounded
            },
            transport=DeadlineTransport(self._deadline),
        )
        self._pacers: dict[str, Pacer] = {}
        self._lock = threading.Lock()
        self.requests_sent = 0

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pacer(self, url: httpx.URL | str, service: str | None = None) -> Pacer:
        """The pacer of the host serving `url` (scheme, host and port), made on first use.

        `service` names who is asking (its published limits are the starting point); None for
        a redirect target, which starts from the strictest limits unless already known.
        """
        url = httpx.URL(url)
        key = f"{url.scheme}://{url.host}:{url.port or ''}"
        with self._lock:
            if key not in self._pacers:
                self._pacers[key] = Pacer(*DEFAULT_LIMITS.get(service or "", STRICT))
            return self._pacers[key]

    @contextmanager
    def budget(self, seconds: float = DOI_SECONDS) -> Iterator[Budget]:
        """Bound what this thread's requests spend until the block ends (one DOI's requests)."""
        previous, self._deadline.budget = self._deadline.budget, Budget(seconds)
        try:
            yield self._deadline.budget
        finally:
            self._deadline.budget = previous

    def _left(self) -> float:
        budget = self._deadline.budget
        return float("inf") if budget is None else budget.seconds

    def _spend(self, seconds: float) -> None:
        if self._deadline.budget is not None:
            self._deadline.budget.spend(seconds)

    def _send(
        self, service: str, request: httpx.Request, allowed: frozenset[str]
    ) -> tuple[httpx.Response, bytes]:
        """One GET, redirects followed hop by hop (only to `allowed` origins), each hop paced by
        the host that serves it; each response read whole within the timeout and size limit."""
        for hop in range(MAX_REDIRECTS + 1):
            if origin(request.url) not in allowed:
                raise _OffHost(f"redirected to {origin(request.url)}, not one of {service}'s hosts")
            pacer = self.pacer(request.url, service if hop == 0 else None)
            with pacer.slot():
                left = self._left()
                if left <= 0:
                    raise OutOfTime(SPENT)
                with self._lock:
                    self.requests_sent += 1
                started = time.monotonic()
                self._deadline.at = started + min(self.timeout, left)
                try:
                    response = self.http.send(request, stream=True)
                    try:  # the body is read before the slot ends
                        content = read_body(response, self.max_bytes, self._deadline)
                    finally:
                        response.close()
                finally:
                    self._deadline.at = None
                    self._spend(time.monotonic() - started)
            pacer.update(response.headers)
            if response.next_request is None:
                return response, content
            request = response.next_request
        raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects", request=request)

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.max_wait, self.backoff * 2**attempt))

    def get(
        self,
        service: str,
        url: str,
        params: dict[str, str] | None = None,
        accept: str = "application/json",
        check: Callable[[Any], str | None] | None = None,
        redirects_to: Iterable[str] = (),
    ) -> Reply:
        """GET url, paced and retried. `check(body)` names what is wrong with a 200's JSON, if
        anything: such an answer is a failure of the service (not retried, never `ok`).

        Redirects are followed within url's own origin and to the origins of `redirects_to`
        (URLs); one anywhere else is a failure of the service, not followed.
        """
        reply = Reply(service=service, url=url)
        request = self.http.build_request("GET", url, params=params, headers={"Accept": accept})
        allowed = frozenset({origin(url), *(origin(u) for u in redirects_to)})
        answered_by: Pacer | None = None
        for attempt in range(self.tries):
            reply = Reply(service=service, url=url, attempts=attempt + 1)
            retry_after: float | None = None
            try:
                response, content = self._send(service, request, allowed)
            except OutOfTime as exc:
                reply.error = f"timed out ({exc})"
            except TooLarge as exc:
                reply.error = f"response too large ({exc}; at most {self.max_bytes:,} are read)"
                return reply  # asking again brings the same
            except _OffHost as exc:
                reply.error = str(exc)
                return reply
            except httpx.DecodingError as exc:
                reply.error = f"undecodable response: {exc}"
                return reply
            except httpx.ConnectTimeout:  # no answer to the connection at all: as good as refused
                reply.error, reply.connect_failed = "cannot connect: timed out", True
            except httpx.TimeoutException as exc:
                reply.error = f"timed out ({type(exc).__name__})"
            except httpx.ConnectError as exc:
                reply.error, reply.connect_failed = f"cannot connect: {exc}", True
            except httpx.TransportError as exc:
                reply.error = f"{type(exc).__name__}: {exc}"
            except httpx.TooManyRedirects as exc:
                reply.error = str(exc)
                return reply  # a redirect loop does not end by asking again
            else:
                answered_by = self.pacer(response.url)
                reply.status = response.status_code
                reply.url = str(response.url.copy_remove_param("api_key"))  # never store the key
                reply.headers = {
                    k: response.headers[k] for k in KEPT_HEADERS if k in response.headers
                }
                if response.status_code == 200:
                    if "json" not in response.headers.get("content-type", ""):
                        ctype = response.headers.get("content-type")
                        reply.error = f"expected JSON, got {ctype!r}: {_snippet(content)}"
                        return reply  # a page, not an API answer: asking again will not help
                    try:
                        reply.body = json.loads(content)
                    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                        reply.error = f"invalid JSON (truncated?): {exc}"  # cut short: retried
                    if reply.error is None and check and (problem := check(reply.body)):
                        reply.error = f"unexpected answer: {problem}"
                    if reply.error is None or reply.body is not None:
                        return reply  # a good answer, or JSON of the wrong shape: not transient
                elif response.status_code in RETRY_STATUSES:
                    reply.error = f"HTTP {response.status_code}: {_snippet(content)}"
                    if response.status_code == 429:
                        retry_after = parse_retry_after(response.headers.get("retry-after"))
                else:
                    reply.error = f"HTTP {response.status_code}: {_snippet(content)}"
                    return reply  # 4xx other than 429: asking again will not help
            if self._left() <= 0:  # the DOI's time ran out: not a sign the service is offline
                reply.connect_failed = False
                if SPENT not in reply.error:
                    reply.error += f" ({SPENT})"
                break
            if attempt + 1 >= (
                min(self.tries, CONNECT_TRIES) if reply.connect_failed else self.tries
            ):
                break
            delay = self._delay(attempt)
            if retry_after is not None:
                if retry_after > self.max_wait:
                    reply.error += f" (Retry-After {retry_after:.0f}s is longer than we wait)"
                    break
                delay = retry_after + random.uniform(0, self.backoff / 4)
            if delay >= self._left():
                reply.error += f" ({SPENT} before it could ask again)"
                break
            if reply.status == 429 and answered_by is not None:
                answered_by.pause(delay)  # the whole host asked us to slow down, not just this DOI
            time.sleep(delay)
            self._spend(delay)
        return reply
