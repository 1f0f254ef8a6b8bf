"""The one outgoing HTTP client: every call to a server outside this process goes through here.

``request()`` vets the URL (``vet_url``: http(s) only, no credentials, and every address the host
resolves to must be public unless ``OUTGOING_HTTP_ALLOW_NETWORKS`` opens its network), then dials
the vetted address itself, so DNS is asked once and cannot answer differently for the connection.
The Host header, TLS SNI and certificate check keep the URL's host name. Redirects are never
followed (a 3xx is returned), nothing is retried, the body is read up to a size cap, and the whole
call (connect, send, headers, body) ends at a total deadline.

Errors: ``OutgoingURLRefused`` (the guard; ``rule`` names which), ``OutgoingTimeout``,
``OutgoingConnectionFailed`` (DNS, refused connection, TLS, broken stream) and
``OutgoingResponseTooLarge``; all are ``OutgoingHTTPError``.
"""

from __future__ import annotations

import ipaddress
import json as jsonlib
import socket
import time
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from whatshybrid.http.transport import ADAPTER, Deadline, VettedRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
USER_AGENT = "WhatsHybrid/1.0"
CHUNK_BYTES = 64 * 1024


class OutgoingHTTPError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OutgoingURLRefused(OutgoingHTTPError):
    """The guard refused the URL before any connection; ``rule`` is one of ``invalid_url``,
    ``scheme``, ``credentials``, ``blocked_address``."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"URL refused ({rule}): {message}")
        self.rule = rule


class OutgoingTimeout(OutgoingHTTPError):
    pass


class OutgoingConnectionFailed(OutgoingHTTPError):
    pass


class OutgoingResponseTooLarge(OutgoingHTTPError):
    pass


# Internal, shared, documentation and reserved ranges (IANA special-purpose registries), with the
# reason a refusal names. The catch-all ``not is_global`` below covers whatever these miss.
_BLOCKED_NETWORKS = tuple(
    (ipaddress.ip_network(network), reason)
    for network, reason in (
        ("0.0.0.0/8", "unspecified ('this network')"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/32", "Teredo"),
        ("2001:2::/48", "benchmarking"),
        ("2001:db8::/32", "documentation"),
        ("2002::/16", "6to4"),
        ("3fff::/20", "documentation"),
        ("fc00::/7", "unique local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
# IPv6 forms that reach an IPv4 address: judged as that address (block and allowlist alike).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class VettedTarget:
    url: str  # normalized (IDNA host), as sent
    scheme: str
    host: str  # ASCII host name or IP literal, no brackets or trailing dot
    port: int
    address: str  # the vetted IP the connection dials


@dataclass(frozen=True)
class Response:
    status: int
    headers: CaseInsensitiveDict
    body: bytes
    elapsed: float  # seconds, connect to last byte
    url: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.body.decode(get_encoding_from_headers(self.headers) or "utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body)


def vet_url(url: str) -> VettedTarget:
    """Checks ``url`` against the guard and resolves its host once; raises ``OutgoingURLRefused``
    (or ``OutgoingConnectionFailed`` when the host does not resolve)."""
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)  # the IDNA/URL normalization requests itself applies
        parsed = urllib3.util.parse_url(prepared.url)
    except (requests.RequestException, urllib3.exceptions.LocationParseError, ValueError) as exc:
        raise OutgoingURLRefused("invalid_url", f"not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise OutgoingURLRefused("scheme", "only http and https URLs are allowed")
    if parsed.auth is not None:
        raise OutgoingURLRefused("credentials", "URLs with a user name or password are not allowed")
    host = (parsed.host or "").strip("[]").rstrip(".")
    if not host:
        raise OutgoingURLRefused("invalid_url", "the URL has no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = _resolve(host, port)
    allowed = allowed_networks()
    for address in addresses:
        reason = _refusal(address, allowed)
        if reason:
            shown = host if host == str(address) else f"{host} resolves to {address}"
            raise OutgoingURLRefused("blocked_address", f"{shown}: {reason} addresses are not allowed")
    return VettedTarget(url=prepared.url, scheme=parsed.scheme, host=host, port=port, address=str(addresses[0]))


def request(
    method: str,
    url: str,
    *,
    json: Any = None,
    data: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
    connect_timeout: float | None = None,
    max_bytes: int | None = None,
) -> Response:
    """One guarded call; any status (also 3xx, 4xx, 5xx) is returned as a ``Response``."""
    total = float(timeout if timeout is not None else settings.OUTGOING_HTTP_TIMEOUT)
    connect = min(
        total, float(connect_timeout if connect_timeout is not None else settings.OUTGOING_HTTP_CONNECT_TIMEOUT)
    )
    limit = max_bytes if max_bytes is not None else settings.OUTGOING_HTTP_MAX_BYTES
    target = vet_url(url)
    prepared = VettedRequest()
    prepared.prepare(
        method=method.upper(),
        url=target.url,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        data=data,
        json=json,
    )
    prepared.target = target
    default_port = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    prepared.headers["Host"] = host if target.port == default_port else f"{host}:{target.port}"
    started = time.monotonic()
    raw = None
    deadline = Deadline(total)
    try:
        with deadline:
            raw = ADAPTER.send(prepared, stream=True, timeout=(connect, total), verify=True, proxies={})
            body = _read_capped(raw, limit)
    except OutgoingHTTPError:
        raise
    except requests.ConnectTimeout:
        raise OutgoingTimeout(f"no connection to {target.host} within {connect:g} s") from None
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        # requests reports a body read's socket timeout as a ConnectionError, and under load that
        # timeout (``total`` from the read's start) can fire just before the deadline does: a
        # call that has spent its total time timed out, whichever of the two cut it.
        if deadline.expired or isinstance(exc, requests.Timeout) or time.monotonic() - started >= total:
            raise OutgoingTimeout(f"{target.host} did not answer within {total:g} s") from None
        raise OutgoingConnectionFailed(f"request to {target.host} failed: {_reason(exc)}") from None
    finally:
        if raw is not None:
            raw.close()  # back to the pool when fully read, closed otherwise
    if deadline.expired:
        raise OutgoingTimeout(f"{target.host} did not answer within {total:g} s")
    return Response(
        status=raw.status_code, headers=raw.headers, body=body, elapsed=time.monotonic() - started, url=target.url
    )


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(cidr, strict=False) for cidr in settings.OUTGOING_HTTP_ALLOW_NETWORKS]
    except ValueError as exc:
        raise ImproperlyConfigured(f"OUTGOING_HTTP_ALLOW_NETWORKS: {exc} (expected CIDRs such as 10.0.0.0/8)") from None


def check_configuration() -> None:
    """A malformed allowlist stops the process at startup rather than at the first call."""
    allowed_networks()


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:
        raise OutgoingURLRefused("invalid_url", f"{host!r} is not a valid host name") from None
    except OSError as exc:
        raise OutgoingConnectionFailed(f"cannot resolve {host}: {exc.strerror or exc}") from None
    # The scope of a link-local address ("fe80::1%eth0") does not change its class.
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def _refusal(address: IPAddress, allowed: list[Any]) -> str | None:
    """Why ``address`` may not be dialed, or None."""
    embedded = None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            embedded = address.ipv4_mapped
        elif address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    candidates = [address] if embedded is None else [address, embedded]
    if any(
        candidate in network for candidate in candidates for network in allowed if candidate.version == network.version
    ):
        return None
    effective = embedded or address
    prefix = "" if embedded is None else f"IPv6-embedded ({embedded}) "
    for network, reason in _BLOCKED_NETWORKS:
        if effective.version == network.version and effective in network:
            return prefix + reason
    if not effective.is_global:
        return prefix + "non-global"
    return None


def _read_capped(raw: requests.Response, limit: int) -> bytes:
    declared = raw.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise OutgoingResponseTooLarge(f"response of {declared} bytes exceeds the {limit}-byte limit")
    chunks, size = [], 0
    for chunk in raw.iter_content(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise OutgoingResponseTooLarge(f"response exceeds the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(exc: BaseException) -> str:
    # requests wraps urllib3 wraps the socket error; the innermost one says what happened.
    while exc.__context__ is not None and isinstance(exc, requests.RequestException | urllib3.exceptions.HTTPError):
        exc = exc.__context__
    return f"{type(exc).__name__}: {exc}"
