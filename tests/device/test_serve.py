"""`edgefer run --serve`: a real server on 127.0.0.1 and a real HTTP client (and, where it can
be installed, a real headless Chromium)."""

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

import cv2
import numpy as np
import pytest
from helpers import CLEAN_ENV, REPO, assert_one_line_error, edgefer_without_tensorflow

from edgefer.core.errors import EdgeferError
from edgefer.device.rates import Rates
from edgefer.device.serve import LiveServer, ServeOptions, parse_address, resolve_token

ROUTES = ["/", "/stream.mjpg", "/api/latest", "/api/events", "/metrics", "/healthz"]
PROMETHEUS_LINE = re.compile(r"^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+ -?[0-9.e+-]+)$")


def get(url, token=None, timeout=10):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def open_stream(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    return urllib.request.urlopen(request, timeout=10)


class Served:
    """`edgefer run ... --serve` in a subprocess; knows its URL and, if generated, its token."""

    def __init__(self, *args, env=None, terminal=False):
        """With ``terminal``, stderr is a pseudo-terminal, as when a person runs the command."""
        stderr = os.openpty() if terminal else None
        self.process = subprocess.Popen([sys.executable, "-m", "edgefer", "run", "--no-display", *args],
                                        stdout=subprocess.DEVNULL, stderr=stderr[1] if stderr else subprocess.PIPE,
                                        text=True, cwd=REPO, env={**CLEAN_ENV, **(env or {})})
        if stderr:
            os.close(stderr[1])
            self.process.stderr = open(stderr[0], encoding="utf-8", errors="replace")
        self.url, self.token, self.lines = None, None, []
        deadline = time.time() + 60
        while time.time() < deadline and self.url is None:
            line = self.process.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            if line.startswith("serving on "):
                self.url = line.split()[-1].rstrip("/")
            if line.startswith("token "):
                self.token = line.split()[-1]
        assert self.url, "".join(self.lines)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        """Keep reading stderr (into ``lines``) so the process never blocks on it."""
        try:
            for line in self.process.stderr:
                self.lines.append(line)
        except OSError:  # a pseudo-terminal reads as an error once the process has gone
            pass

    def wait_for_frames(self, token=None):
        deadline = time.time() + 30
        while time.time() < deadline:
            if get(self.url + "/healthz", token)[0] == 200:
                return
            time.sleep(0.2)
        raise AssertionError("no frame was served")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def served():
    server = Served("--source", "sample", "--loop", "--serve", "127.0.0.1:0")
    server.wait_for_frames()
    yield server
    server.stop()


def jpeg_parts(stream, count):
    """``count`` JPEG images read from a multipart/x-mixed-replace stream."""
    images = []
    while len(images) < count:
        line = stream.readline()
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
            stream.readline()
            images.append(cv2.imdecode(np.frombuffer(stream.read(length), np.uint8), cv2.IMREAD_COLOR))
    return images


def test_the_api_serves_the_sample_face_as_happy(served):
    status, headers, body = get(served.url + "/api/latest")
    assert status == 200 and headers["Content-Type"] == "application/json"
    frame = json.loads(body)
    assert frame["faces"][0]["emotion"] == "happy" and set(frame) >= {"frame", "time", "faces"}


def test_the_stream_yields_decodable_jpegs(served):
    with open_stream(served.url + "/stream.mjpg") as stream:
        assert stream.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        images = jpeg_parts(stream, 3)
    assert all(image is not None and image.shape == (320, 320, 3) and image.std() > 10 for image in images)


def test_events_are_one_json_object_per_frame(served):
    with open_stream(served.url + "/api/events") as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        events = []
        while len(events) < 5:
            line = stream.readline().decode()
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    frames = [event["frame"] for event in events]
    assert frames == sorted(frames) and len(set(frames)) == 5
    assert all(event["faces"][0]["emotion"] == "happy" for event in events)


def test_metrics_are_prometheus_text(served):
    status, headers, body = get(served.url + "/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert all(PROMETHEUS_LINE.match(line) for line in text.strip().splitlines()), text
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if not line.startswith("#")}
    assert set(values) == {"edgefer_frames_total", "edgefer_faces_total", "edgefer_dropped_frames_total",
                           "edgefer_frames_per_second", "edgefer_capacity_frames_per_second",
                           "edgefer_detector_seconds", "edgefer_classifier_seconds", "edgefer_stream_clients"}
    assert values["edgefer_frames_total"] >= 1 and 0 < values["edgefer_detector_seconds"] < 1
    for name in ("edgefer_frames_total", "edgefer_faces_total", "edgefer_dropped_frames_total"):
        assert f"# TYPE {name} counter" in text


def test_health_turns_503_when_frames_stop():
    options = ServeOptions(port=0, stall_seconds=0.5)
    with LiveServer(options) as server:
        assert get(server.url + "healthz")[0] == 503  # nothing yet
        server.state.publish({"frame": 0, "faces": []}, None, Rates(), {"detector": 0.01, "classifier": 0.0})
        assert get(server.url + "healthz")[0] == 200
        time.sleep(0.8)
        assert get(server.url + "healthz")[0] == 503


def test_too_many_streams_get_503():
    with LiveServer(ServeOptions(port=0, max_clients=2)) as server:
        server.state.publish({"frame": 0, "faces": []}, np.zeros((8, 8, 3), np.uint8), Rates(),
                             {"detector": 0.0, "classifier": 0.0})
        first, second = open_stream(server.url + "api/events"), open_stream(server.url + "api/events")
        assert get(server.url + "api/events")[0] == 503
        first.close()
        second.close()


def test_no_video_serves_results_but_no_image():
    with LiveServer(ServeOptions(port=0, video=False)) as server:
        server.state.publish({"frame": 0, "faces": []}, None, Rates(), {"detector": 0.0, "classifier": 0.0})
        assert get(server.url + "stream.mjpg")[0] == 404
        assert get(server.url + "api/latest")[0] == 200
        assert b"const VIDEO = false" in get(server.url)[2]


def test_a_public_bind_without_a_token_is_refused_where_no_person_would_see_a_generated_one():
    result = edgefer_without_tensorflow("run", "--source", "sample", "--serve", "0.0.0.0:0", "--no-display")
    assert_one_line_error(result, "needs a token", "--token-file")
    assert "token (shown once" not in result.stderr


def test_a_public_bind_without_a_token_shows_a_generated_one_on_a_terminal():
    server = Served("--source", "sample", "--loop", "--serve", "0.0.0.0:0", terminal=True)
    try:
        assert server.token and len(server.token) >= 24
        local = server.url.replace("0.0.0.0", "127.0.0.1")
        server.url = local
        server.wait_for_frames(server.token)
        for route in ROUTES:
            assert get(local + route)[0] == 401, route
            assert get(local + route, token="wrong-" + server.token)[0] == 401, route
        assert get(local + "/api/latest", server.token)[0] == 200
        status, headers, _ = get(local + f"/?token={server.token}")
        assert status == 200 and "HttpOnly" in headers["Set-Cookie"]
    finally:
        server.stop()


def test_a_token_file_is_required_on_every_route(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("a-long-enough-secret-token\n")
    server = Served("--source", "sample", "--loop", "--serve", "0.0.0.0:0", "--token-file", str(token_file))
    try:
        assert server.token is None  # nothing generated, nothing printed
        local = server.url.replace("0.0.0.0", "127.0.0.1")
        server.url = local
        server.wait_for_frames("a-long-enough-secret-token")
        assert [get(local + route)[0] for route in ROUTES] == [401] * len(ROUTES)
        assert get(local + "/api/latest", "a-long-enough-secret-token")[0] == 200
    finally:
        server.stop()


@pytest.mark.parametrize("value, fragment", [("99999", "port"), ("host:port", "port"), ("", "port")])
def test_bad_addresses_are_refused(value, fragment):
    with pytest.raises(EdgeferError, match=fragment):
        parse_address(value)


def test_tokens_come_from_a_file_the_environment_or_are_generated(tmp_path, monkeypatch):
    monkeypatch.delenv("EDGEFER_TOKEN", raising=False)
    assert resolve_token("127.0.0.1", None) == (None, False)
    token, generated = resolve_token("0.0.0.0", None, terminal=True)
    assert generated and len(token) >= 24
    with pytest.raises(EdgeferError, match="needs a token"):
        resolve_token("0.0.0.0", None, terminal=False)
    monkeypatch.setenv("EDGEFER_TOKEN", "from-the-environment-1234")
    assert resolve_token("0.0.0.0", None) == ("from-the-environment-1234", False)


@pytest.mark.parametrize("token", ["a", "abc", "sixteen chars ok", "a;b=c-0123456789", "0123456789abcdéf",
                                   "0123456789abcdef\r\nSet-Cookie: x=1"])
def test_every_token_source_has_one_rule(tmp_path, monkeypatch, token):
    monkeypatch.delenv("EDGEFER_TOKEN", raising=False)
    (tmp_path / "token").write_text(token, encoding="utf-8")
    with pytest.raises(EdgeferError, match="at least 16 characters of A-Z"):
        resolve_token("0.0.0.0", str(tmp_path / "token"))
    monkeypatch.setenv("EDGEFER_TOKEN", token)
    with pytest.raises(EdgeferError, match="EDGEFER_TOKEN: the token must be"):
        resolve_token("127.0.0.1", None)


def test_a_token_file_others_can_read_is_warned_about(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("EDGEFER_TOKEN", raising=False)
    path = tmp_path / "token"
    path.write_text("a-long-enough-secret-token\n")
    path.chmod(0o640)  # the service's group may read it
    assert resolve_token("0.0.0.0", str(path)) == ("a-long-enough-secret-token", False)
    assert capsys.readouterr().err == ""
    path.chmod(0o644)
    resolve_token("0.0.0.0", str(path))
    assert "can be read by other users" in capsys.readouterr().err


def process_status(pid):
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


@pytest.mark.slow
def test_clients_coming_and_going_leave_memory_flat_and_threads_bounded(served):
    pid = served.process.pid
    for _ in range(5):  # warm up every code path once
        with open_stream(served.url + "/stream.mjpg") as stream:
            jpeg_parts(stream, 1)
        time.sleep(0.3)  # the server notices a closed stream at its next frame
    rss_start, _ = process_status(pid)
    stop = time.time() + 30
    peak_threads = 0

    def client(route):
        while time.time() < stop:
            try:
                with open_stream(served.url + route) as stream:
                    stream.read(20000)
            except OSError:
                pass

    clients = [threading.Thread(target=client, args=(("/stream.mjpg", "/api/events")[i % 2],)) for i in range(20)]
    for thread in clients:
        thread.start()
    while time.time() < stop:
        peak_threads = max(peak_threads, process_status(pid)[1])
        time.sleep(0.5)
    for thread in clients:
        thread.join()
    time.sleep(2)
    rss_end, threads_end = process_status(pid)
    assert rss_end - rss_start < 10, (rss_start, rss_end)
    assert peak_threads < 60 and threads_end < 20, (peak_threads, threads_end)


@pytest.mark.slow
def test_a_client_that_never_reads_does_not_slow_the_pipeline(served):
    def frames_in(seconds):
        first = float(re.search(r"^edgefer_frames_total (\S+)$", get(served.url + "/metrics")[2].decode(), re.M).group(1))
        time.sleep(seconds)
        return float(re.search(r"^edgefer_frames_total (\S+)$", get(served.url + "/metrics")[2].decode(), re.M).group(1)) - first

    alone = frames_in(5)
    stalled = open_stream(served.url + "/stream.mjpg")  # opened, never read
    try:
        time.sleep(2)  # long enough to fill its socket buffers
        with_stalled = frames_in(5)
    finally:
        stalled.close()
    assert with_stalled >= 0.9 * alone, (alone, with_stalled)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="headless Chromium and chromedriver are not installed "
                    "(.ci/run installs Debian's chromium and chromium-driver)")
def test_the_page_shows_the_video_and_the_emotion_bars_in_chromium(served, tmp_path):
    browser = chromium()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        browser.get(served.url + "/")
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#faces .face"))
        WebDriverWait(browser, 30).until(lambda b: b.execute_script(
            "return document.getElementById('video').naturalWidth") > 0)
        card = browser.execute_script("""  // read at once: the page redraws the cards at every frame
            const card = document.querySelector('#faces .face');
            const top = card.querySelector('.row.top');
            return {emotion: card.dataset.emotion, text: card.innerText, label: top.dataset.label,
                    bar: top.querySelector('.bar').getBoundingClientRect().width,
                    track: top.querySelector('.track').getBoundingClientRect().width};""")
        assert card["emotion"] == "happy" and "happy" in card["text"] and card["label"] == "happy"
        assert card["bar"] > 0.5 * card["track"]  # the happy bar fills most of its track
        shot = tmp_path / "page.png"
        browser.save_screenshot(str(shot))
        video = browser.find_element(By.ID, "video").rect
    finally:
        browser.quit()
    picture = cv2.imread(str(shot))
    region = picture[int(video["y"]):int(video["y"] + video["height"]), int(video["x"]):int(video["x"] + video["width"])]
    assert region.size and region.std() > 20  # the annotated frame, not a blank box


def raw_request(url, request: bytes, timeout=10) -> bytes:
    """Send ``request`` as it is to the server at ``url``; the whole reply."""
    host, port = urlparse(url).hostname, urlparse(url).port
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(request)
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
        return reply


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:{port}", "127.0.0.1.attacker.example",
                                  "", "localhost.", "10.0.0.1:{port}"])
def test_a_loopback_server_answers_only_to_its_own_names(served, host):
    port = urlparse(served.url).port
    header = f"Host: {host.format(port=port)}\r\n" if host else ""
    for route in ROUTES:
        reply = raw_request(served.url, f"GET {route} HTTP/1.1\r\n{header}Connection: close\r\n\r\n".encode())
        assert reply.startswith(b"HTTP/1.1 403"), (route, reply[:80])
        assert b"Content-Type: image/jpeg" not in reply and b'"faces"' not in reply


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}"])
def test_a_loopback_server_answers_to_each_of_its_names(served, host):
    port = urlparse(served.url).port
    reply = raw_request(served.url, f"GET /api/latest HTTP/1.1\r\nHost: {host.format(port=port)}\r\n"
                                    "Connection: close\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 200") and b'"faces"' in reply


def test_the_page_runs_only_its_own_script(served):
    status, headers, body = get(served.url + "/")
    policy = headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy).group(1)
    assert status == 200 and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert body.decode().count(f'nonce="{nonce}"') == 2  # its one script and one style
    assert nonce != re.search(r"'nonce-([^']+)'", get(served.url + "/")[1]["Content-Security-Policy"]).group(1)
    assert "innerHTML" not in body.decode()


def test_head_and_the_favicon_answer(served):
    for route in ("/", "/api/latest", "/metrics", "/healthz", "/stream.mjpg", "/api/events"):
        request = urllib.request.Request(served.url + route, method="HEAD")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and response.read() == b"", route
    status, headers, body = get(served.url + "/favicon.ico")
    assert status == 200 and headers["Content-Type"] == "image/svg+xml" and body.startswith(b"<svg")


def test_the_bearer_scheme_is_case_insensitive(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("a-long-enough-secret-token\n")
    token_file.chmod(0o600)
    server = Served("--source", "sample", "--loop", "--serve", "127.0.0.1:0", "--token-file", str(token_file))
    try:
        server.wait_for_frames("a-long-enough-secret-token")
        for scheme in ("Bearer", "bearer", "BEARER"):
            request = urllib.request.Request(server.url + "/api/latest",
                                             headers={"Authorization": f"{scheme} a-long-enough-secret-token"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
        assert get(server.url + "/api/latest", token="a-long-enough-secret-toke")[0] == 401
    finally:
        server.stop()


def test_resetting_clients_print_no_traceback_and_a_crowd_is_answered(served):
    port = urlparse(served.url).port
    for i in range(100):  # connect, send part of a request (or nothing), reset
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection.sendall([b"", b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b"GET /api/ev"][i % 3])
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
    answered = []

    def ask():
        answered.append(get(served.url + "/api/latest", timeout=30)[0])

    crowd = [threading.Thread(target=ask) for _ in range(300)]
    for thread in crowd:
        thread.start()
    for thread in crowd:
        thread.join()
    assert answered.count(200) == 300
    assert get(served.url + "/healthz")[0] == 200
    time.sleep(1)
    assert not any("Traceback" in line or "Error" in line for line in served.lines), "".join(served.lines)


HOSTILE_LABEL = "<img src=x onerror=document.title='XSS'>"


def chromium():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,700"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="headless Chromium and chromedriver are not installed "
                    "(.ci/run installs Debian's chromium and chromium-driver)")
def test_a_hostile_label_is_shown_as_text_in_chromium(tmp_path):
    from dataclasses import replace

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from edgefer.core.metadata import flatbuffer_bytes, read_metadata, with_metadata
    from edgefer.device.bundled import default_model_path

    metadata = read_metadata(default_model_path())
    hostile = tmp_path / "hostile_int8.tflite"
    labels = (HOSTILE_LABEL, *metadata.labels[1:])
    hostile.write_bytes(with_metadata(flatbuffer_bytes(default_model_path()), replace(metadata, labels=labels)))
    server = Served("--source", "sample", "--loop", "--serve", "127.0.0.1:0", "--model", str(hostile))
    browser = chromium()
    try:
        server.wait_for_frames()
        browser.get(server.url + "/")
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#legend span"))
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#faces .row"))
        time.sleep(1)  # a few more frames: time for any injected handler to run
        shown = browser.execute_script("""return {title: document.title,
            legend: document.querySelector('#legend span').textContent,
            row: document.querySelector('#faces .row').children[0].textContent,
            images: document.querySelectorAll('#side img').length};""")
    finally:
        browser.quit()
        server.stop()
    assert shown == {"title": "edgefer live", "legend": HOSTILE_LABEL, "row": HOSTILE_LABEL, "images": 0}


def metric(url, name):
    return float(re.search(rf"^{name} (\S+)$", get(url + "/metrics")[2].decode(), re.M).group(1))


def test_the_frame_rate_is_the_rate_frames_arrive_at_and_capacity_is_named_apart(served):
    """``--loop`` delivers the sample at 30 frames a second, as a camera would; the pipeline could do more."""
    time.sleep(6)  # a full 5 s window
    first, start = metric(served.url, "edgefer_frames_total"), time.monotonic()
    time.sleep(5)
    arrived = (metric(served.url, "edgefer_frames_total") - first) / (time.monotonic() - start)
    reported = metric(served.url, "edgefer_frames_per_second")
    assert abs(reported - arrived) <= 0.1 * arrived and abs(arrived - 30) <= 3, (reported, arrived)
    assert metric(served.url, "edgefer_capacity_frames_per_second") > reported
    latest = json.loads(get(served.url + "/api/latest")[2])
    assert set(latest["rates"]) == {"frames_per_second", "capacity_fps"}


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(not PROMTOOL, reason="promtool is not installed (.ci/run installs Debian's prometheus)")
def test_promtool_accepts_the_metrics(served):
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=get(served.url + "/metrics")[2], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="headless Chromium and chromedriver are not installed "
                    "(.ci/run installs Debian's chromium and chromium-driver)")
def test_the_page_recovers_from_a_full_server_and_a_restart_and_never_shows_a_frozen_frame_as_live():
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    arguments = ("--source", "sample", "--loop", "--serve", f"127.0.0.1:{port}", "--max-clients", "1")
    server = Served(*arguments)
    browser = chromium()
    page = """return {status: document.getElementById('status').textContent,
                      paused: document.getElementById('video').classList.contains('paused'),
                      width: document.getElementById('video').naturalWidth};"""
    try:
        server.wait_for_frames()
        holder = open_stream(server.url + "/stream.mjpg")  # the only stream slot is taken
        browser.get(server.url + "/")
        WebDriverWait(browser, 30).until(lambda b: b.execute_script(page)["status"].startswith("frame"))
        assert browser.execute_script(page)["width"] == 0  # the numbers are live, the video waits for a slot
        holder.close()
        WebDriverWait(browser, 30).until(lambda b: b.execute_script(page)["width"] > 0)
        server.stop()  # what a service restart looks like from the page
        WebDriverWait(browser, 30).until(lambda b: b.execute_script(page)["status"].startswith("waiting for the server"))
        assert browser.execute_script(page)["paused"]  # the last frame is not shown as live
        server = Served(*arguments)
        WebDriverWait(browser, 60).until(lambda b: b.execute_script(page)["status"].startswith("frame"))
        shown = browser.execute_script(page)
        assert not shown["paused"] and shown["width"] > 0 and "fps (capacity" in shown["status"]
    finally:
        browser.quit()
        server.stop()


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="headless Chromium and chromedriver are not installed "
                    "(.ci/run installs Debian's chromium and chromium-driver)")
def test_drift_figures_reach_the_metrics_and_the_page():
    server = Served("--source", "sample", "--loop", "--serve", "127.0.0.1:0", "--drift", "fer2013-lite0",
                    "--drift-every", "2", "--no-video")
    try:
        server.wait_for_frames()
        time.sleep(1)
        metrics = get(server.url + "/metrics")[2]
        assert metric(server.url, "edgefer_drift_faces_total") >= 1 and metric(server.url, "edgefer_drift_agreement") == 1.0
        if PROMTOOL:
            result = subprocess.run([PROMTOOL, "check", "metrics"], input=metrics, capture_output=True)
            assert result.returncode == 0, result.stdout + result.stderr
        browser = chromium()
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            browser.get(server.url + "/")
            WebDriverWait(browser, 30).until(lambda b: "agreement 1.000" in b.execute_script(
                "return document.getElementById('drift').textContent"))
        finally:
            browser.quit()
    finally:
        server.stop()
