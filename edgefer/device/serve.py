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
shown once on a terminal, never in a service's log); every request must then carry it
(``Authorization: Bearer``, ``?token=``, or the cookie that ``/?token=`` sets), compared in
constant time. A loopback server answers only requests whose ``Host`` is one of its own names,
so a web page that rebinds its own name to 127.0.0.1 cannot read it. The page runs only its own
script (a Content-Security-Policy with a fresh nonce) and shows label names as text. Clients
that reset, stall or flood are dropped without a traceback: at most ``MAX_CONNECTIONS`` at once,
each for at most ``Handler.timeout`` seconds of silence.
"""

import hmac
import json
import os
import re
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
from edgefer.core.spec import is_number
from edgefer.device.rates import WINDOW_SECONDS, Rates

BOUNDARY = "edgeferframe"
COOKIE = "edgefer_token"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
MIN_TOKEN_CHARS = 16
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~-]+")  # safe in a header, a cookie and a URL
MAX_CONNECTIONS = 64  # open connections at once; more are closed at once
LISTEN_BACKLOG = 128
FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#3cc83c"/>'
           b'<circle cx="5.5" cy="6" r="1" fill="#16181d"/><circle cx="10.5" cy="6" r="1" fill="#16181d"/>'
           b'<path d="M4.5 9.5q3.5 3.5 7 0" stroke="#16181d" fill="none"/></svg>')


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
    if not is_number(port) or not 0 <= int(port) < 65536:
        raise EdgeferError(f"--serve {value!r}: expected PORT or HOST:PORT with a port from 0 (any free one) to 65535")
    return host, int(port)


def check_token(token: str, where: str) -> str:
    """The token, if it is long enough and made of characters safe in a header, cookie and URL."""
    if len(token) < MIN_TOKEN_CHARS or not TOKEN_CHARACTERS.fullmatch(token):
        raise EdgeferError(f"{where}: the token must be at least {MIN_TOKEN_CHARS} characters of A-Z, a-z, 0-9 "
                           "and . _ ~ - (make one with: python -c 'import secrets; print(secrets.token_urlsafe(24))')")
    return token


def resolve_token(host: str, token_file: Optional[str], terminal: Optional[bool] = None) -> Tuple[Optional[str], bool]:
    """(token, generated?): from ``token_file``, else ``EDGEFER_TOKEN``; a non-loopback address
    without either gets a generated one when a person will see it (``terminal``: stderr is a
    terminal), else a one-line error; loopback without either needs none."""
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as f:
                token = f.read().strip()
                readable_by_others = os.fstat(f.fileno()).st_mode & 0o007
        except (OSError, UnicodeDecodeError) as exc:
            raise EdgeferError(f"{token_file}: cannot read the token ({getattr(exc, 'strerror', None) or exc})") from None
        check_token(token, token_file)
        if readable_by_others:
            print(f"warning: {token_file} can be read by other users; chmod 600 it", file=sys.stderr, flush=True)
        return token, False
    if "EDGEFER_TOKEN" in os.environ:
        return check_token(os.environ["EDGEFER_TOKEN"], "EDGEFER_TOKEN"), False
    if host in LOOPBACK:
        return None, False
    if not (sys.stderr.isatty() if terminal is None else terminal):
        raise EdgeferError(f"--serve {host}: a server other machines can reach needs a token: --token-file FILE "
                           "or EDGEFER_TOKEN (a generated one is shown only on a terminal, never in a log)")
    return secrets.token_urlsafe(24), True


class LiveState:
    """The latest frame for every client, and the counters behind ``/metrics``."""

    def __init__(self):
        self.condition = threading.Condition()
        self.index = -1
        self.jpeg: Optional[bytes] = None
        self.line: Optional[dict] = None  # the latest frame, as --json prints it
        self.event: Optional[str] = None  # the same as JSON, for every /api/events client
        self.last_time = 0.0
        self.frames = self.faces = self.dropped = 0
        self.rates = {"frames_per_second": 0.0, "capacity_fps": 0.0}
        self.detector_seconds = self.classifier_seconds = 0.0
        self.clients = 0
        self.drift: Optional[dict] = None  # run --drift: the running figures of the float shadow

    def publish(self, line: dict, annotated: Optional[np.ndarray], rates: Rates, seconds: dict,
                drift: Optional[dict] = None) -> None:
        """Called by the pipeline for every frame; never waits for a client."""
        jpeg = None
        if annotated is not None:
            ok, encoded = cv2.imencode(".jpg", annotated, [cv2.IMWRITE_JPEG_QUALITY, 80])
            jpeg = encoded.tobytes() if ok else None
        with self.condition:
            self.index += 1
            self.rates = rates.as_dict()
            self.jpeg, self.line, self.event = jpeg, line, json.dumps(line)
            self.last_time = time.monotonic()
            self.frames += 1
            self.faces += len(line["faces"])
            self.detector_seconds, self.classifier_seconds = seconds["detector"], seconds["classifier"]
            self.drift = drift
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

    def latest(self) -> Optional[str]:
        """The latest frame with the rates, as JSON (for ``/api/latest``; made when asked for, not
        at every frame), or None before the first frame."""
        with self.condition:
            if self.line is None:
                return None
            extra = {"drift": self.drift} if self.drift else {}
            return json.dumps({**self.line, "rates": self.rates, **extra})

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
                ("edgefer_frames_per_second", "gauge",
                 f"Frames processed per second over the last {WINDOW_SECONDS:g} s.", self.rates["frames_per_second"]),
                ("edgefer_capacity_frames_per_second", "gauge", "Frames per second the pipeline could process: "
                 f"1 / its mean processing time over the last {WINDOW_SECONDS:g} s.", self.rates["capacity_fps"]),
                ("edgefer_detector_seconds", "gauge", "Face detection time of the last frame.", self.detector_seconds),
                ("edgefer_classifier_seconds", "gauge", "Classifier time of the last frame.", self.classifier_seconds),
                ("edgefer_stream_clients", "gauge", "Streaming clients connected.", self.clients),
            ]
            drift = self.drift
        return exposition(rows) + (drift_metrics(drift) if drift else "")

    def healthy(self, stall_seconds: float) -> bool:
        with self.condition:
            return self.index >= 0 and time.monotonic() - self.last_time < stall_seconds


def exposition(rows) -> str:
    """(name, type, help, value) rows in Prometheus' text exposition format."""
    return "".join(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n{name} {value}\n" for name, kind, help_text, value in rows)


def _label_value(text: str) -> str:
    """A Prometheus label value: backslash, double quote and line feed escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def drift_metrics(drift: dict) -> str:
    """``run --drift``'s figures in Prometheus' text format."""
    low, high = drift["agreement_ci95"]
    rows = [
        ("edgefer_drift_faces_total", "counter", "Faces the float model also labelled.", drift["faces_compared"]),
        ("edgefer_drift_agreement", "gauge", "Share of compared faces where int8 and float agree on the label.",
         drift["agreement"]),
        ("edgefer_drift_agreement_low", "gauge", "Lower bound of the agreement's 95% interval (Wilson).", low),
        ("edgefer_drift_agreement_high", "gauge", "Upper bound of the agreement's 95% interval (Wilson).", high),
        ("edgefer_drift_max_difference_mean", "gauge", "Mean of the largest per-class probability difference.",
         drift["max_difference_mean"]),
        ("edgefer_drift_max_difference_p95", "gauge", "95th percentile of the largest per-class probability difference.",
         drift["max_difference_p95"]),
        ("edgefer_drift_warning", "gauge", "1 once the agreement's upper bound fell under --drift-min-agreement.",
         int(drift["warning"])),
    ]
    for kind in ("input", "output"):
        if drift["saturation"][kind] is not None:
            rows.append((f"edgefer_drift_{kind}_saturation", "gauge",
                         f"Share of the int8 {kind} values at -128 or 127.", drift["saturation"][kind]))
    text = exposition(rows)
    text += "# HELP edgefer_drift_flips_total Compared faces by int8 label and float label, where they differ.\n" \
            "# TYPE edgefer_drift_flips_total counter\n"
    labels = drift["labels"]
    for q, row in enumerate(drift["flip_matrix"]):
        for f, count in enumerate(row):
            if q != f and count:
                text += (f'edgefer_drift_flips_total{{int8="{_label_value(labels[q])}",'
                         f'float="{_label_value(labels[f])}"}} {count}\n')
    return text


def page_html(video: bool, nonce: str) -> bytes:
    html = resources.files("edgefer.device").joinpath("page.html").read_text(encoding="utf-8")
    return html.replace("{{VIDEO}}", "true" if video else "false").replace("{{NONCE}}", nonce).encode("utf-8")


def content_policy(nonce: str) -> str:
    """Only the page's own script and style, frames and data from this server, no embedding."""
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self'; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port (``[::1]:80`` -> ``::1``)."""
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


class Handler(BaseHTTPRequestHandler):
    """One request; the server object carries ``state`` and ``options``."""

    protocol_version = "HTTP/1.1"
    server_version = "edgefer"
    timeout = 10  # a client that stops reading is dropped after this many seconds

    def log_message(self, format, *args):  # keep stderr for the run's own lines
        pass

    def _host_allowed(self) -> bool:
        """Any Host for a server other machines reach (the token guards it); on loopback, only
        the server's own names."""
        options = self.server.options
        if options.host not in LOOPBACK:
            return True
        return host_name(self.headers.get("Host", "").strip().lower()) in {*LOOPBACK, options.host.lower()}

    def _authorised(self, query) -> bool:
        token = self.server.options.token
        if token is None:
            return True
        offered = []
        scheme, _, value = self.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer":
            offered.append(value.strip())
        offered += query.get("token", [])
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                offered.append(value)
        return any(hmac.compare_digest(candidate.encode("utf-8", "replace"), token.encode()) for candidate in offered)

    def _headers(self, status: int, content_type: str, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in headers:
            self.send_header(name, value)

    def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8", headers=()):
        self._headers(status, content_type, [("Content-Length", str(len(body))), *headers])
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        state, options = self.server.state, self.server.options
        if not self._host_allowed():
            self._send(403, b"403: this server answers only to its own names (Host)\n")
            return
        if not self._authorised(query):
            self._send(401, b"401: a token is needed (Authorization: Bearer, ?token= or the page's cookie)\n",
                       headers=[("WWW-Authenticate", "Bearer")])
            return
        if url.path == "/":
            cookie = [("Set-Cookie", f"{COOKIE}={options.token}; HttpOnly; SameSite=Strict; Path=/")] \
                if options.token and "token" in query else []
            nonce = secrets.token_urlsafe(16)
            self._send(200, page_html(options.video, nonce), "text/html; charset=utf-8",
                       [*cookie, ("Content-Security-Policy", content_policy(nonce))])
        elif url.path == "/favicon.ico":
            self._send(200, FAVICON, "image/svg+xml")
        elif url.path == "/api/latest":
            latest = state.latest()
            if latest is None:
                self._send(503, b"503: no frame yet\n")
            else:
                self._send(200, latest.encode() + b"\n", "application/json")
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
            self._headers(200, content_type, [("Connection", "close")])
            self.end_headers()
            if self.command == "HEAD":
                return
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
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, options: ServeOptions):
        self.address_family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
        try:
            super().__init__((options.host, options.port), Handler)
        except OSError as exc:
            raise EdgeferError(f"--serve {options.host}:{options.port}: cannot listen ({exc.strerror or exc})") from None
        self.options, self.state = options, LiveState()
        self.connections = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)

    def process_request(self, request, client_address):
        """A thread for the connection while fewer than ``MAX_CONNECTIONS`` are open; else closed at once."""
        if not self.connections.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()

    def handle_error(self, request, client_address):
        """A client's reset, timeout or garbage is the client's business: no traceback; anything
        else is one line."""
        error = sys.exc_info()[1]
        if not isinstance(error, (OSError, ValueError)):
            print(f"warning: a request from {client_address[0]} failed ({type(error).__name__}: {error})",
                  file=sys.stderr, flush=True)

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
    if generated_token:  # resolve_token generates one only when stderr is a terminal
        print(f"token (shown once, kept only in memory): {server.options.token}\n"
              f"open {server.url}?token={server.options.token}", file=sys.stderr, flush=True)
    print(f"serving on {server.url}", file=sys.stderr, flush=True)
