"""Serve the repository as the app's origin (CPython only: `python -m app.devserver`)."""

from __future__ import annotations

import argparse
import functools
import http.server
import io
import logging
import mimetypes
import socketserver
import threading
import urllib.parse
from pathlib import Path

from app import bundle

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)

# Older mimetypes tables lack these; module scripts and wasm streaming need them.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("application/toml", ".toml")
mimetypes.add_type("text/x-python", ".py")


_archives: dict[str, tuple[tuple, bytes]] = {}
_archives_lock = threading.Lock()


def archive(root: Path) -> bytes:
    """Return app/'s archive (app/bundle.py) built from ``root`` as it is now, rebuilt when a member changed."""
    key = str(root)
    signature = bundle.signature(root)
    with _archives_lock:
        cached = _archives.get(key)
        if cached is None or cached[0] != signature:
            cached = _archives[key] = (signature, bundle.build(root))
        return cached[1]


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serve files with correct types and no caching of the app's own code; build app/'s archive on request."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **mimetypes.types_map}

    def send_head(self):  # type: ignore[override]
        if urllib.parse.urlsplit(self.path).path != bundle.URL_PATH:
            return super().send_head()
        # Never a file left by an earlier build: the pages run the working tree's sources.
        data = archive(Path(self.directory))
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        return io.BytesIO(data)

    def end_headers(self) -> None:
        if "/static/vendor/" in self.path:
            self.send_header("Cache-Control", "public, max-age=3600")
        else:
            self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(host: str = "127.0.0.1", port: int = 0, root: Path = ROOT) -> Server:
    """Return a server for ``root`` on ``host:port`` (port 0 picks a free one)."""
    handler = functools.partial(Handler, directory=str(root))
    return Server((host, port), handler)


def serve_in_thread(host: str = "127.0.0.1", port: int = 0) -> tuple[Server, threading.Thread]:
    """Start a server in a daemon thread and return it with its thread."""
    server = make_server(host, port)
    thread = threading.Thread(target=server.serve_forever, name="devserver", daemon=True)
    thread.start()
    return server, thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    server = make_server(args.host, args.port)
    log.info("AirPrompts Migrate at http://%s:%s/  (Ctrl+C stops)", args.host, server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
