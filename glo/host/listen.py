"""Where ``glo serve`` may listen: loopback checks, a free port, the address to print.

Plain sockets, shared by the CLI (checks before the server starts) and the console's server
(``tui.serve``: the Host header of every request must be a loopback name when serving on loopback).
"""

from __future__ import annotations

import socket

from glo.errors import GloError


def is_loopback(host: str | None) -> bool:
    """A loopback address or the name localhost (only this machine can connect)."""
    import ipaddress

    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """Raise GloError when ``host:port`` can't be listened on (in use, or no such address here)."""
    import errno

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise GloError(f"cannot listen on {host}: {exc.strerror or exc}") from exc
    for family, kind, proto, _, addr in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(addr)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise GloError(f"port {port} on {host} is already in use (another glo serve?); "
                                   f"pick another with --port") from exc
                raise GloError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host
