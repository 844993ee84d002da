import os

import cv2
import numpy as np
import pytest

from edgefer.core.errors import EdgeferError
from edgefer.device.sources import SAMPLE_FRAMES, open_source, resolve_paths


def write_images(folder, names):
    os.makedirs(folder, exist_ok=True)
    for i, name in enumerate(names):
        cv2.imwrite(os.path.join(folder, name), np.full((20, 30, 3), i * 40, np.uint8))


def test_sample_is_the_default_source():
    frames = list(open_source())
    assert len(frames) == SAMPLE_FRAMES and frames[0].image.shape == (320, 320, 3)
    assert not np.array_equal(frames[0].image, frames[-1].image)  # the clip moves
    assert {(f.source, f.still) for f in frames} == {("sample", False)}


def test_a_folder_gives_its_images_sorted_and_skips_other_files(tmp_path):
    write_images(tmp_path, ["b.png", "a.jpg", "c.bmp"])
    (tmp_path / "notes.txt").write_text("not an image")
    assert [os.path.basename(p) for p in resolve_paths(str(tmp_path))] == ["a.jpg", "b.png", "c.bmp"]
    frames = list(open_source(source=str(tmp_path)))
    assert [int(f.image[0, 0, 0]) for f in frames] == [40, 0, 80]
    assert [(f.source, f.still) for f in frames] == [("a.jpg", True), ("b.png", True), ("c.bmp", True)]


def test_a_glob_and_a_single_file(tmp_path):
    write_images(tmp_path, ["x1.png", "x2.png", "y.png"])
    assert [os.path.basename(p) for p in resolve_paths(str(tmp_path / "x*.png"))] == ["x1.png", "x2.png"]
    assert [f.source for f in open_source(source=str(tmp_path / "y.png"))] == ["y.png"]


def test_a_video_file_is_a_clip_named_by_its_file(tmp_path):
    path = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for i in range(3):
        writer.write(np.full((24, 32, 3), 50 * i, np.uint8))
    writer.release()
    assert [(f.source, f.still) for f in open_source(source=path)] == [("clip.avi", False)] * 3


@pytest.mark.parametrize("camera, source, fragment", [
    ("front", None, "--camera takes a camera index"),
    ("9", None, "camera 9 could not be opened"),
    (None, "9", "camera 9 could not be opened"),
    (None, "/nowhere/*.png", "no such file, folder or matching files"),
])
def test_source_dispatch_errors(camera, source, fragment):
    with pytest.raises(EdgeferError, match=fragment):
        next(iter(open_source(camera, source)))


def test_an_unreadable_image_is_named(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 nope")
    with pytest.raises(EdgeferError, match="broken.jpg"):
        list(open_source(source=str(bad)))
