"""A loopback HTTP endpoint for webhook tests: records each form POST and answers it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

# (the URL the request was made to, its form, its X-Twilio-Signature) -> HTTP status
Answer = Callable[[str, dict[str, str], str | None], int]


class FormEndpoint:
    """`.url` (base_url + `path`) takes POSTs; `.posts` holds (path, form, signature) and
    `.answers` the statuses given, in arrival order; `.arrived` is set on each POST."""

    def __init__(self, answer: Answer = lambda _url, _form, _signature: 204, *, path: str = "/twilio/status") -> None:
        self.posts: list[tuple[str, dict[str, str], str | None]] = []
        self.answers: list[int] = []
        self.arrived = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers["Content-Length"])
                form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                signature = self.headers.get("X-Twilio-Signature")
                status = answer(f"http://{self.headers['Host']}{self.path}", form, signature)
                endpoint.posts.append((self.path, form, signature))
                endpoint.answers.append(status)
                endpoint.arrived.set()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = self.base_url + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
