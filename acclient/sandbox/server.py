"""Serve a WSGI app on loopback in a background thread (tests, benchmarks, the local run)."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, make_server


class BackgroundServer:
    """``with BackgroundServer(app) as server: requests.get(server.url + ...)``; port 0 picks a free one."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        server = make_server(host, port, app, threaded=True)
        if not isinstance(server, ThreadedWSGIServer):  # make_server is annotated with the base class
            raise TypeError(f"make_server(threaded=True) returned a {type(server).__name__}")
        self._server = server
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._serve, name=f"server-{self.port}", daemon=True)

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
