"""urllib3 connections checked at the socket, and the requests adapter that uses them.

Every connection of a guarded session (each redirect hop, retry and kept-alive reuse)
is checked by the address it actually reached (`getpeername`) before a byte is sent,
under the calling thread's rules (scraper/guard.py: `fetching`), and its name is
resolved within the fetch's deadline.
"""

from __future__ import annotations

import socket

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError

from scraper.addresses import address_of
from scraper.errors import FetchError
from scraper.guard import Rules, current


class _PeerChecked:
    """A urllib3 connection whose socket is checked by its peer before a byte is sent,
    new or kept alive, and handed to the fetch's watchdog."""

    def _new_conn(self) -> socket.socket:
        rules = current()
        rules.check_time(self.host)
        sock = self._connect_in_time(rules)
        try:
            rules.check_peer(sock, self.host)
            rules.watch(sock)
        except BaseException:
            sock.close()
            raise
        return sock

    def _connect_in_time(self, rules: Rules) -> socket.socket:
        """urllib3's connection, to addresses resolved within the deadline.

        urllib3 would resolve the name itself, beyond the watchdog's reach; here it is
        given each resolved address in turn instead (self.host, which TLS checks the
        certificate against, is the name again afterwards)."""
        name = self._dns_host
        try:
            address_of(name.strip("[]"))
            literal = True  # an address: nothing to resolve
        except ValueError:
            literal = False
        if literal or rules.timeout is None:
            return super()._new_conn()
        try:
            infos = rules.resolve(name, self.port)
        except socket.gaierror as e:  # as urllib3 reports it, without resolving again
            raise NameResolutionError(self.host, self, e) from e
        except ValueError:  # an unencodable name: urllib3 refuses it before resolving
            return super()._new_conn()
        error: Exception | None = None
        for address in dict.fromkeys(info[4][0] for info in infos):
            self._dns_host = address
            try:
                return super()._new_conn()
            except Exception as e:  # noqa: BLE001 - urllib3's connection errors: try the next
                error = e
            finally:
                self._dns_host = name
        raise error or OSError(f"no address for {name}")

    def request(self, *args, **kwargs):
        if self.sock is not None:  # kept alive from an earlier request: this fetch's rules
            rules = current()
            rules.check_time(self.host)
            rules.check_peer(self.sock, self.host)
            rules.watch(self.sock)
        return super().request(*args, **kwargs)


class _GuardedHTTPConnection(_PeerChecked, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_PeerChecked, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """requests' HTTPAdapter whose connections are checked at the socket (module docstring)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise FetchError("refused", "refused a proxy: the address it reaches cannot be checked")
