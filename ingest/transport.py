"""What a server may send: one response within its deadline and its size, nothing past either.

httpx bounds each read of a socket, not a response: a server that sends a byte a second, or a
status line a byte at a time, never trips it. `DeadlineTransport` runs httpx on connections whose
every read, write and TLS handshake is cut to what is left before the deadline of the response in
progress (per thread, set by the client around each request). `read_body` reads a streamed body
and decodes it itself, a bounded piece at a time, so neither a 50 MB answer nor a gzip bomb
reaches memory past `max_bytes`.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

CHUNK = 64 * 1024


class OutOfTime(Exception):
    """The response, or the DOI's budget, ran past its deadline."""


class TooLarge(Exception):
    """The response body is larger than the client reads."""


@dataclass
class Budget:
    """Seconds one DOI may still spend on requests and waits between them."""

    seconds: float

    def spend(self, seconds: float) -> None:
        self.seconds -= seconds


class Deadline(threading.local):
    """Per thread: when the response being read must be complete (time.monotonic()), and the
    budget of the DOI this thread is resolving."""

    at: float | None = None
    budget: Budget | None = None


def _bounded(local: Deadline, timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout` for one socket operation, cut to what is left before the response's deadline."""
    if local.at is None:
        return timeout
    left = local.at - time.monotonic()
    if left <= 0:
        raise error("the response took longer than the timeout")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the deadline of the response in progress."""

    def __init__(self, stream: httpcore.NetworkStream, local: Deadline):
        self._stream, self._local = stream, local

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(self._local, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(self._local, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = _bounded(self._local, timeout, httpcore.ConnectTimeout)
        return DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, timeout), self._local
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, local: Deadline):
        self._backend, self._local = httpcore.SyncBackend(), local

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None, socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:  # fmt: skip
        timeout = _bounded(self._local, timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return DeadlineStream(stream, self._local)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:  # pragma: no cover - we never use unix sockets
        timeout = _bounded(self._local, timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_unix_socket(path, timeout, socket_options)
        return DeadlineStream(stream, self._local)

    def sleep(self, seconds: float) -> None:  # pragma: no cover - httpcore retries are off
        self._backend.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport on a connection pool whose sockets keep to the response deadline."""

    def __init__(self, local: Deadline):
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=DeadlineBackend(local)
        )


def origin(url: httpx.URL | str) -> str:
    """`https://api.crossref.org:443`: scheme, host and port, the unit a redirect may stay within."""
    url = httpx.URL(url)
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return f"{url.scheme}://{url.host}:{port}"


def _decoder(response: httpx.Response) -> Any:
    """A zlib decompressor for the body's content-encoding; None for an unencoded body."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header, detected
    raise httpx.DecodingError(f"unsupported content-encoding {encoding!r}")


def read_body(response: httpx.Response, max_bytes: int, local: Deadline) -> bytes:
    """The decoded body of a streamed response, read until `max_bytes` and no further.

    Raises TooLarge past the limit (as soon as the decoded size passes it, however small the
    compressed body), OutOfTime past the response's deadline, httpx.DecodingError for a body
    that does not decompress.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes and _decoder(response) is None:
        raise TooLarge(f"{int(declared):,} bytes declared")
    decoder = _decoder(response)
    body = bytearray()
    try:
        for chunk in response.iter_raw(CHUNK):
            if local.at is not None and time.monotonic() > local.at:
                raise OutOfTime("the response took longer than the timeout")
            while chunk:
                if decoder is None:
                    body += chunk
                    chunk = b""
                else:
                    body += decoder.decompress(chunk, max_bytes + 1 - len(body))
                    chunk = decoder.unconsumed_tail
                if len(body) > max_bytes:
                    raise TooLarge(f"more than {max_bytes:,} bytes")
        if decoder is not None:
            body += decoder.flush(max_bytes + 1 - len(body))
            if len(body) > max_bytes:
                raise TooLarge(f"more than {max_bytes:,} bytes")
    except zlib.error as exc:
        raise httpx.DecodingError(f"the compressed body is damaged: {exc}") from exc
    return bytes(body)
