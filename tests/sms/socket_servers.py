"""Loopback TCP servers that misbehave on purpose, for the Twilio transport's failure tests.

`RawHttpServer` reads each HTTP/1.1 request byte for byte (request line, headers in the
order sent, body by Content-Length), records it, and answers with whatever `reply` returns:
bytes to send (then keep the connection, or close it with `close_after_reply`), or None to
hang until the server stops. Optionally TLS, with the given server context.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RawRequest:
    request_line: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


def http_reply(status: str, body: bytes = b"", *, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}",
             *(f"{key}: {value}" for key, value in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RawHttpServer:
    def __init__(self, reply: Callable[[RawRequest], bytes | None], *, close_after_reply: bool = False,
                 tls: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.close_after_reply = close_after_reply
        self.tls = tls
        self.requests: list[RawRequest] = []
        self.connections = 0
        self.handshake_failures = 0
        self.arrived = threading.Event()
        self.closed = threading.Semaphore(0)  # released as each connection is closed here
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self) -> RawHttpServer:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _spawn(self, target: Callable, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            self._spawn(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        try:
            if self.tls is not None:
                connection.settimeout(10)  # a loaded machine must not cut the handshake short
                try:
                    connection = self.tls.wrap_socket(connection, server_side=True)
                except (ssl.SSLError, OSError):
                    self.handshake_failures += 1
                    return
            connection.settimeout(0.1)  # reads wake up to notice the server stopping
            reader = _Reader(connection, self._stop)
            while not self._stop.is_set():
                request = reader.request()
                if request is None:
                    return
                self.requests.append(request)
                self.arrived.set()
                answer = self.reply(request)
                if answer is None:  # hang: hold the connection, never answer
                    self._stop.wait()
                    return
                connection.sendall(answer)
                if self.close_after_reply:
                    return
        finally:
            connection.close()
            self.closed.release()


class _Reader:
    def __init__(self, connection: socket.socket, stop: threading.Event) -> None:
        self.connection = connection
        self.stop = stop
        self.buffer = b""

    def _fill(self) -> bool:
        while not self.stop.is_set():
            try:
                chunk = self.connection.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return False
            if not chunk:
                return False
            self.buffer += chunk
            return True
        return False

    def request(self) -> RawRequest | None:
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        request_line, *lines = head.decode("latin-1").split("\r\n")
        headers = [(key.strip(), value.strip()) for key, _, value in (line.partition(":") for line in lines)]
        length = int(next((value for key, value in headers if key.lower() == "content-length"), "0"))
        while len(self.buffer) < length:
            if not self._fill():
                return None
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return RawRequest(request_line, headers, body)
