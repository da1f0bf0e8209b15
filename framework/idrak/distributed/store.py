"""A small key-value store over TCP for rendezvous (the NCCL unique id), standard library only.

The rank-0 process runs the server (``TCPStore(host, port, is_master=True)``, a daemon thread);
every process, the master included, talks to it as a client. Keys are strings, values bytes.
``get`` waits until the key is set or the timeout passes. The wire format is length-prefixed
bytes (no pickle): a request is ``op(1 byte) | key length (u32) | key | value length (u32) |
value``, where ``op`` is ``S`` (set) or ``G`` (get; the value is the wait in seconds as text);
the reply to ``G`` is ``status(1 byte: 0 found, 1 timed out) | length (u32) | value``.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable

from idrak.distributed.comm import DistributedError, DistributedTimeoutError

__all__ = ["TCPStore"]

_U32 = struct.Struct("!I")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            raise ConnectionError("the store's peer closed the connection")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _recv_blob(sock: socket.socket) -> bytes:
    (n,) = _U32.unpack(_recv_exact(sock, 4))
    return _recv_exact(sock, n)


def _blob(data: bytes) -> bytes:
    return _U32.pack(len(data)) + data


class _Server:
    def __init__(self, host: str, port: int) -> None:
        self.data: dict[str, bytes] = {}
        self.cond = threading.Condition()
        self.sock = socket.create_server((host, port), reuse_port=False)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True, name="idrak-store").start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                while True:
                    op = conn.recv(1)
                    if not op:
                        return
                    key = _recv_blob(conn).decode()
                    value = _recv_blob(conn)
                    if op == b"S":
                        with self.cond:
                            self.data[key] = value
                            self.cond.notify_all()
                    elif op == b"G":
                        wait = float(value.decode())
                        with self.cond:
                            found = self.cond.wait_for(self._has(key), timeout=wait)
                            got = self.data.get(key, b"")
                        conn.sendall((b"\0" if found else b"\1") + _blob(got))
                    else:
                        return
            except (OSError, ConnectionError, ValueError):
                return

    def _has(self, key: str) -> Callable[[], bool]:
        return lambda: key in self.data

    def close(self) -> None:
        self.closed = True
        try:  # wakes the thread blocked in accept() (close alone does not, on Linux)
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class TCPStore:
    """A rendezvous store on ``host:port`` (``torch.distributed.TCPStore``'s role).

    Args:
        host, port: where the master listens (``MASTER_ADDR``, ``MASTER_PORT``); port 0 on the
            master picks a free one (read it back from :attr:`port`).
        is_master: run the server in this process (rank 0).
        timeout: seconds to wait for the server to accept (clients retry until then) and the
            default wait of :meth:`get`.

    Raises:
        DistributedTimeoutError: no server accepted within ``timeout``, or a key was not set in
            time (the message names the key and the address).
        DistributedError: the master's port is taken.
    """

    def __init__(self, host: str, port: int, is_master: bool = False, timeout: float = 300.0):
        self.host, self.timeout = host, float(timeout)
        self._server: _Server | None = None
        if is_master:
            try:
                self._server = _Server(host, port)
            except OSError as e:
                raise DistributedError(f"TCPStore: cannot listen on {host}:{port}: {e}") from e
            port = self._server.port
        self.port = port
        self._lock = threading.Lock()
        self._sock = self._connect()

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return socket.create_connection((self.host, self.port), timeout=self.timeout)
            except OSError as e:
                if time.monotonic() > deadline:
                    raise DistributedTimeoutError(
                        f"TCPStore: no store answered at {self.host}:{self.port} within "
                        f"{self.timeout:g} s ({e}); is rank 0 running, and MASTER_ADDR/"
                        "MASTER_PORT the same on every rank?"
                    ) from None
                time.sleep(0.05)

    def set(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` (replacing an older value)."""
        if not isinstance(value, bytes | bytearray):
            raise DistributedError(f"TCPStore.set: value must be bytes, got {type(value).__name__}")
        with self._lock:
            self._sock.sendall(b"S" + _blob(key.encode()) + _blob(bytes(value)))

    def get(self, key: str, timeout: float | None = None) -> bytes:
        """The value of ``key``, waiting up to ``timeout`` seconds (default: the store's) for a
        rank to set it.

        Raises:
            DistributedTimeoutError: the key was not set in time.
        """
        wait = self.timeout if timeout is None else float(timeout)
        with self._lock:
            self._sock.settimeout(wait + 30.0)
            self._sock.sendall(b"G" + _blob(key.encode()) + _blob(repr(wait).encode()))
            status = _recv_exact(self._sock, 1)
            value = _recv_blob(self._sock)
        if status != b"\0":
            raise DistributedTimeoutError(
                f"TCPStore: key {key!r} was not set at {self.host}:{self.port} within "
                f"{wait:g} s (did every rank start?)"
            )
        return value

    def close(self) -> None:
        """Close the connection (and the server, on the master)."""
        self._sock.close()
        if self._server is not None:
            self._server.close()
