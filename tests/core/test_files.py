import os
import stat
import subprocess

import pytest

from edgefer.core.errors import EdgeferError
from edgefer.core.files import check_output_folder, write_bytes, write_text, write_with


def test_a_new_file_is_written_whole_and_nothing_else_is_left(tmp_path):
    write_text(str(tmp_path / "a.txt"), "hello")
    assert os.listdir(tmp_path) == ["a.txt"] and (tmp_path / "a.txt").read_text() == "hello"


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    (tmp_path / "link.txt").symlink_to(target)
    write_text(str(tmp_path / "link.txt"), "new")
    assert (tmp_path / "link.txt").is_symlink() and target.read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["link.txt", "real.txt"]


def test_a_device_is_written_directly_not_replaced():
    write_text("/dev/null", "discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_fifo_is_written_directly(tmp_path):
    fifo = str(tmp_path / "pipe")
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE)
    write_text(fifo, "through the pipe")
    assert reader.communicate(timeout=10)[0] == b"through the pipe"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_folder_or_a_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(EdgeferError, match="is a folder"):
        write_text(str(tmp_path), "x")
    with pytest.raises(EdgeferError, match="is a file, not a folder"):
        write_text(str(tmp_path / "file" / "x.txt"), "x")
    with pytest.raises(EdgeferError, match="is a file, not a folder"):
        check_output_folder(str(tmp_path / "file" / "sub"))
    assert os.listdir(tmp_path) == ["file"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "figure.png"
    path.write_bytes(b"old picture")

    def fail(temporary):
        open(temporary, "wb").write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(EdgeferError, match="No space left on device"):
        write_with(str(path), fail)
    assert os.listdir(tmp_path) == ["figure.png"] and path.read_bytes() == b"old picture"


def test_a_full_disk_is_one_error_and_leaves_nothing(full_disk):
    with pytest.raises(EdgeferError, match="No space left on device"):
        write_bytes(str(full_disk / "big.bin"), b"x" * 200_000)
    assert os.listdir(full_disk) == []
