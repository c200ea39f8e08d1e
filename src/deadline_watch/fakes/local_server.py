"""What every local provider fake shares: an HTTP server on a daemon thread, started and
stopped the same way, a JSON-lines record of what it accepted, and the fail-rate and
latency knobs.

`FakeTwilio` and `FakeAliyun` subclass `LocalFake`, giving it their request handler; their
handlers reach the fake as `self.server.fake`.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar

_Choice = TypeVar("_Choice")


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    fake: Any  # the LocalFake serving

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that timed out and hung up is an expected event here, not a crash
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class LocalFake:
    """Lifecycle of a fake: `start()` / `stop()` or a `with` block; `serve_forever()` for the CLI."""

    handler: ClassVar[type[BaseHTTPRequestHandler]]
    thread_name: ClassVar[str] = "fake-provider"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        fail_rate: float = 0.0,
        latency_ms: float = 0.0,
        record_path: Path | None = None,
        seed: int | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.fail_rate = fail_rate  # share of sends refused with a transient error
        self.latency_ms = latency_ms  # wait before each answer
        self.record_path = Path(record_path) if record_path else None
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._record_file: IO[str] | None = None
        self._server: FakeServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Any:
        if self.record_path:
            self.record_path.parent.mkdir(parents=True, exist_ok=True)
            self._record_file = self.record_path.open("a", encoding="utf-8")
        self._server = FakeServer((self.host, self.requested_port), self.handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI); `start()` must have been called."""
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._record_file is not None:
            self._record_file.close()
            self._record_file = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment that points deadline-watch at this fake (each fake's own)."""
        raise NotImplementedError

    @property
    def messages(self) -> list[Any]:
        """What the fake accepted so far (each fake's own record type)."""
        raise NotImplementedError

    # -- shared knobs ----------------------------------------------------------------

    def injected_failure(self, failures: Sequence[_Choice]) -> _Choice | None:
        """One of `failures` for a share `fail_rate` of the calls, else None."""
        if self.fail_rate and self._random.random() < self.fail_rate:
            return self._random.choice(failures)
        return None

    def write_record(self, record: dict[str, Any]) -> None:
        """Append one accepted message to the record file, flushed so another process can
        count it at once (call with `_lock` held)."""
        if self._record_file is not None:
            self._record_file.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._record_file.flush()
