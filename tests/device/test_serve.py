"""`edgefer run --serve`: a real server on 127.0.0.1 and a real HTTP client (and, where it can
be installed, a real headless Chromium)."""

import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
from helpers import CLEAN_ENV, REPO

from edgefer.core.errors import EdgeferError
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

    def __init__(self, *args, env=None):
        self.process = subprocess.Popen([sys.executable, "-m", "edgefer", "run", "--no-display", *args],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
                                        env={**CLEAN_ENV, **(env or {})})
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
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # keep the pipe drained

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
    assert set(values) == {"edgefer_frames_total", "edgefer_faces_total", "edgefer_dropped_frames_total", "edgefer_fps",
                           "edgefer_detector_seconds", "edgefer_classifier_seconds", "edgefer_stream_clients"}
    assert values["edgefer_frames_total"] >= 1 and 0 < values["edgefer_detector_seconds"] < 1
    for name in ("edgefer_frames_total", "edgefer_faces_total", "edgefer_dropped_frames_total"):
        assert f"# TYPE {name} counter" in text


def test_health_turns_503_when_frames_stop():
    options = ServeOptions(port=0, stall_seconds=0.5)
    with LiveServer(options) as server:
        assert get(server.url + "healthz")[0] == 503  # nothing yet
        server.state.publish({"frame": 0, "faces": []}, None, 10.0, {"detector": 0.01, "classifier": 0.0})
        assert get(server.url + "healthz")[0] == 200
        time.sleep(0.8)
        assert get(server.url + "healthz")[0] == 503


def test_too_many_streams_get_503():
    with LiveServer(ServeOptions(port=0, max_clients=2)) as server:
        server.state.publish({"frame": 0, "faces": []}, np.zeros((8, 8, 3), np.uint8), 1.0,
                             {"detector": 0.0, "classifier": 0.0})
        first, second = open_stream(server.url + "api/events"), open_stream(server.url + "api/events")
        assert get(server.url + "api/events")[0] == 503
        first.close()
        second.close()


def test_no_video_serves_results_but_no_image():
    with LiveServer(ServeOptions(port=0, video=False)) as server:
        server.state.publish({"frame": 0, "faces": []}, None, 1.0, {"detector": 0.0, "classifier": 0.0})
        assert get(server.url + "stream.mjpg")[0] == 404
        assert get(server.url + "api/latest")[0] == 200
        assert b"const VIDEO = false" in get(server.url)[2]


def test_a_public_bind_without_a_token_gets_a_generated_one():
    server = Served("--source", "sample", "--loop", "--serve", "0.0.0.0:0")
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
    token, generated = resolve_token("0.0.0.0", None)
    assert generated and len(token) >= 24
    monkeypatch.setenv("EDGEFER_TOKEN", "from-the-environment-1234")
    assert resolve_token("0.0.0.0", None) == ("from-the-environment-1234", False)
    (tmp_path / "short").write_text("abc")
    with pytest.raises(EdgeferError, match="at least 16"):
        resolve_token("0.0.0.0", str(tmp_path / "short"))


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
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,700"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
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
