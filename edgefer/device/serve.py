"""``edgefer run --serve``: what the device sees, over HTTP, private by default.

Routes: ``/`` (the live page), ``/stream.mjpg`` (annotated frames as multipart JPEG),
``/api/latest`` (the latest frame's JSON, as a ``--json`` line), ``/api/events`` (Server-Sent
Events, one per frame), ``/metrics`` (Prometheus text) and ``/healthz`` (200 while frames flow).

The pipeline only ever ``publish``es the latest frame: each streaming client is sent the newest
frame when it is ready for one, and the frames it was too slow for are dropped for it alone, so
a slow or stalled client never slows the pipeline. The server is the standard library's
threading HTTP server: no dependency, one thread per connection, streams capped by
``max_clients``.

Binding anything but loopback needs a token (a file, ``EDGEFER_TOKEN``, or one generated and
printed once); every request must then carry it (``Authorization: Bearer``, ``?token=``, or the
cookie that ``/?token=`` sets), compared in constant time.
"""

import hmac
import json
import os
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Optional, Tuple
from urllib.parse import parse_qs, urlparse

import cv2
import numpy as np

from edgefer.core.errors import EdgeferError

BOUNDARY = "edgeferframe"
COOKIE = "edgefer_token"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class ServeOptions:
    """Where to listen, the token (None: none needed), whether to send images, how many
    streaming clients at once, and how long without a frame counts as stalled."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: Optional[str] = None
    video: bool = True
    max_clients: int = 8
    stall_seconds: float = 5.0


def parse_address(value: str) -> Tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port); loopback by default."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise EdgeferError(f"--serve {value!r}: expected PORT or HOST:PORT with a port from 0 (any free one) to 65535")
    return host, int(port)


def resolve_token(host: str, token_file: Optional[str]) -> Tuple[Optional[str], bool]:
    """(token, generated?): from ``token_file``, else ``EDGEFER_TOKEN``; a non-loopback address
    without either gets a generated one; loopback without either needs none."""
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as f:
                token = f.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise EdgeferError(f"{token_file}: cannot read the token ({getattr(exc, 'strerror', None) or exc})") from None
        if len(token) < 16:
            raise EdgeferError(f"{token_file}: the token must be at least 16 characters")
        return token, False
    if os.environ.get("EDGEFER_TOKEN"):
        return os.environ["EDGEFER_TOKEN"], False
    if host in LOOPBACK:
        return None, False
    return secrets.token_urlsafe(24), True


class LiveState:
    """The latest frame for every client, and the counters behind ``/metrics``."""

    def __init__(self):
        self.condition = threading.Condition()
        self.index = -1
        self.jpeg: Optional[bytes] = None
        self.event: Optional[str] = None
        self.last_time = 0.0
        self.frames = self.faces = self.dropped = 0
        self.fps = 0.0
        self.detector_seconds = self.classifier_seconds = 0.0
        self.clients = 0

    def publish(self, line: dict, annotated: Optional[np.ndarray], fps: float, seconds: dict) -> None:
        """Called by the pipeline for every frame; never waits for a client."""
        jpeg = None
        if annotated is not None:
            ok, encoded = cv2.imencode(".jpg", annotated, [cv2.IMWRITE_JPEG_QUALITY, 80])
            jpeg = encoded.tobytes() if ok else None
        with self.condition:
            self.index += 1
            self.jpeg, self.event = jpeg, json.dumps(line)
            self.last_time = time.monotonic()
            self.frames += 1
            self.faces += len(line["faces"])
            self.fps = fps
            self.detector_seconds, self.classifier_seconds = seconds["detector"], seconds["classifier"]
            self.condition.notify_all()

    def next_after(self, index: int, timeout: float = 1.0):
        """(index, jpeg, event) of the newest frame after ``index``, or None after ``timeout``;
        frames in between are counted as dropped."""
        with self.condition:
            if self.index <= index:
                self.condition.wait(timeout)
            if self.index <= index:
                return None
            if index >= 0:
                self.dropped += self.index - index - 1
            return self.index, self.jpeg, self.event

    def acquire_client(self, limit: int) -> bool:
        with self.condition:
            if self.clients >= limit:
                return False
            self.clients += 1
            return True

    def release_client(self) -> None:
        with self.condition:
            self.clients -= 1

    def metrics(self) -> str:
        """The counters in Prometheus' text exposition format."""
        with self.condition:
            rows = [
                ("edgefer_frames_total", "counter", "Frames processed.", self.frames),
                ("edgefer_faces_total", "counter", "Faces labelled.", self.faces),
                ("edgefer_dropped_frames_total", "counter", "Frames a streaming client was too slow for.", self.dropped),
                ("edgefer_fps", "gauge", "Frames per second (moving average).", round(self.fps, 3)),
                ("edgefer_detector_seconds", "gauge", "Face detection time of the last frame.", self.detector_seconds),
                ("edgefer_classifier_seconds", "gauge", "Classifier time of the last frame.", self.classifier_seconds),
                ("edgefer_stream_clients", "gauge", "Streaming clients connected.", self.clients),
            ]
        return "".join(f"# HELP {name} {text}\n# TYPE {name} {kind}\n{name} {value}\n" for name, kind, text, value in rows)

    def healthy(self, stall_seconds: float) -> bool:
        with self.condition:
            return self.index >= 0 and time.monotonic() - self.last_time < stall_seconds


def page_html(video: bool) -> bytes:
    html = resources.files("edgefer.device").joinpath("page.html").read_text(encoding="utf-8")
    return html.replace("{{VIDEO}}", "true" if video else "false").encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    """One request; the server object carries ``state`` and ``options``."""

    protocol_version = "HTTP/1.1"
    server_version = "edgefer"
    timeout = 10  # a client that stops reading is dropped after this many seconds

    def log_message(self, format, *args):  # keep stderr for the run's own lines
        pass

    def _authorised(self, query) -> bool:
        token = self.server.options.token
        if token is None:
            return True
        offered = []
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            offered.append(header[len("Bearer "):])
        offered += query.get("token", [])
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                offered.append(value)
        return any(hmac.compare_digest(candidate.encode(), token.encode()) for candidate in offered)

    def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        state, options = self.server.state, self.server.options
        if not self._authorised(query):
            self._send(401, b"401: a token is needed (Authorization: Bearer, ?token= or the page's cookie)\n",
                       headers=[("WWW-Authenticate", "Bearer")])
            return
        if url.path == "/":
            cookie = [("Set-Cookie", f"{COOKIE}={options.token}; HttpOnly; SameSite=Strict; Path=/")] \
                if options.token and "token" in query else []
            self._send(200, page_html(options.video), "text/html; charset=utf-8", cookie)
        elif url.path == "/api/latest":
            event = state.event
            if event is None:
                self._send(503, b"503: no frame yet\n")
            else:
                self._send(200, event.encode() + b"\n", "application/json")
        elif url.path == "/metrics":
            self._send(200, state.metrics().encode(), "text/plain; version=0.0.4; charset=utf-8")
        elif url.path == "/healthz":
            ok = state.healthy(options.stall_seconds)
            self._send(200 if ok else 503, b"ok\n" if ok else b"stalled\n")
        elif url.path == "/stream.mjpg" and options.video:
            self._stream(self._write_jpeg, f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        elif url.path == "/api/events":
            self._stream(self._write_event, "text/event-stream")
        else:
            self._send(404, b"404: not found\n")

    def _write_jpeg(self, jpeg, event):
        if jpeg is not None:
            self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                             + jpeg + b"\r\n")

    def _write_event(self, jpeg, event):
        self.wfile.write(f"data: {event}\n\n".encode())

    def _stream(self, write, content_type):
        state = self.server.state
        if not state.acquire_client(self.server.options.max_clients):
            self._send(503, b"503: too many streaming clients\n")
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            index = -1
            while not self.server.stopping.is_set():
                newest = state.next_after(index)
                if newest is None:
                    continue
                index, jpeg, event = newest
                write(jpeg, event)
                self.wfile.flush()
        except (OSError, ValueError):  # the client went away or stopped reading
            pass
        finally:
            self.close_connection = True
            state.release_client()


class LiveServer(ThreadingHTTPServer):
    """The HTTP server, run in a background thread while the pipeline publishes."""

    daemon_threads = True

    def __init__(self, options: ServeOptions):
        self.address_family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
        try:
            super().__init__((options.host, options.port), Handler)
        except OSError as exc:
            raise EdgeferError(f"--serve {options.host}:{options.port}: cannot listen ({exc.strerror or exc})") from None
        self.options, self.state = options, LiveState()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.shutdown()
        self.server_close()

    @property
    def url(self) -> str:
        host = f"[{self.options.host}]" if ":" in self.options.host else self.options.host
        return f"http://{host}:{self.server_address[1]}/"


def announce(server: LiveServer, generated_token: bool) -> None:
    """Say on stderr where the page is, after a generated token (shown this once)."""
    if generated_token:
        print(f"token (shown once, kept only in memory): {server.options.token}\n"
              f"open {server.url}?token={server.options.token}", file=sys.stderr, flush=True)
    print(f"serving on {server.url}", file=sys.stderr, flush=True)
