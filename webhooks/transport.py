"""One HTTP POST to an integrator's endpoint, with the standard library only.

- **Timeout**: ``WEBHOOKS_TIMEOUT`` seconds (default 10) for connecting and for each
  read; the task's time limit bounds a receiver that answers byte by byte.
- **No redirects**: a 3xx is an answer like any other non-2xx (a failure, retried). A
  redirect would let an endpoint send our signed body somewhere it was not registered.
- **Private addresses refused**: the host is resolved once, every address must be public
  (``ipaddress.is_global``) unless ``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` is set, and the
  connection goes to the address that was checked (so a DNS answer that changes between
  the check and the connection cannot point us at the internal network). Without this, a
  subscription would be a way to make the server POST into its own network.
- **TLS** is verified against the system's certificate authorities, with the host name.
- Only the first 500 characters of the answer are kept, for the attempt's record.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

DEFAULT_TIMEOUT = 10.0
EXCERPT_CHARS = 500


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code, or the error that prevented one."""

    status_code: int | None
    duration_ms: int
    error: str = ""
    excerpt: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class TargetRefused(Exception):
    """The endpoint's address is not one we send to."""


def timeout() -> float:
    return float(getattr(settings, "WEBHOOKS_TIMEOUT", DEFAULT_TIMEOUT))


def private_targets_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", False))


def is_public_address(address: str) -> bool:
    return ipaddress.ip_address(address.split("%", 1)[0]).is_global


def resolve(host: str, port: int) -> str:
    """The address to connect to; every address the name has must be public."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise TargetRefused(f"{host} has no address")
    if not private_targets_allowed():
        private = [a for a in addresses if not is_public_address(a)]
        if private:
            raise TargetRefused(f"{host} resolves to a non-public address ({private[0]})")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address; the Host header still names the host."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with TLS verified against the host name (not the address)."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def _connection(url: str, seconds: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    host = parts.hostname or ""
    address = resolve(host, port)
    kind = _PinnedHTTPSConnection if secure else _PinnedHTTPConnection
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return kind(host, port, address=address, timeout=seconds), path


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST ``body``; never raises for network trouble, which is reported in the outcome."""
    seconds = timeout()
    started = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        connection, path = _connection(url, seconds)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            excerpt = response.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")[:EXCERPT_CHARS]
            return Outcome(status_code=response.status, duration_ms=took(), excerpt=excerpt)
        finally:
            connection.close()
    except TargetRefused as exc:
        return Outcome(status_code=None, duration_ms=took(), error=str(exc))
    except TimeoutError:
        return Outcome(status_code=None, duration_ms=took(), error=f"timed out after {seconds:g} s")
    except (OSError, http.client.HTTPException, UnicodeError, ValueError) as exc:
        return Outcome(status_code=None, duration_ms=took(), error=f"{type(exc).__name__}: {exc}")
