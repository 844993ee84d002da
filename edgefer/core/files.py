"""Writing results safely: a file is either complete or absent, never half-written, and never
written by replacing something that is not a regular file.

A regular file (or a new path) is written to a temporary file beside it and renamed onto it; a
symbolic link is followed, so its target is replaced and the link stays. A device, pipe or
socket (``/dev/stdout``) is written to directly: renaming onto it would replace the device
node. A folder is refused. Any failure (a full disk, no permission) removes the temporary file
and becomes one ``EdgeferError`` line. A temporary file names the process that made it; one
left by a process that no longer runs (killed) is removed the next time its file is written.
"""

import contextlib
import glob
import json
import os
import shutil
import stat
import tempfile
from typing import Callable, Iterator

from edgefer.core.errors import EdgeferError, WriteError


def _os_error(path: str, exc: OSError) -> WriteError:
    return WriteError(f"{path}: could not write ({exc.strerror or exc})")


def check_output_file(path: str) -> str:
    """The real path a result file will be written to; refuses a folder, and a path under a file."""
    real = os.path.realpath(path)
    if os.path.isdir(real):
        raise EdgeferError(f"{path}: is a folder; give a file name")
    check_output_folder(os.path.dirname(real) or ".", create=False)
    return real


@contextlib.contextmanager
def removed_on_failure(folder: str) -> Iterator[None]:
    """Within the block, a ``folder`` that did not exist before it is removed again if the block
    fails or is interrupted: a refused or stopped command leaves nothing half-made."""
    existed = os.path.exists(folder)
    try:
        yield
    except BaseException:
        if not existed:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def check_output_folder(path: str, create: bool = True) -> str:
    """Refuse an output folder that is a file or lies under one; create it when ``create``."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise EdgeferError(f"{path}: {probe} is a file, not a folder")
    if create:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise EdgeferError(f"{path}: cannot create the folder ({exc.strerror or exc})") from None
    return path


def is_special(real: str) -> bool:
    """A device, pipe or socket: written to, never replaced."""
    return os.path.exists(real) and not os.path.isdir(real) and not stat.S_ISREG(os.stat(real).st_mode)


def _temporary_stem(real: str) -> str:
    """What the name of every temporary file of ``real`` starts with; the writer's pid follows."""
    return f".{os.path.basename(real)}.edgefer-"


def _remove_leftovers(real: str) -> None:
    """Remove the temporary files of ``real`` that processes which no longer run left behind."""
    stem = _temporary_stem(real)
    for leftover in glob.glob(os.path.join(glob.escape(os.path.dirname(real) or "."), glob.escape(stem) + "*")):
        pid = os.path.basename(leftover)[len(stem):].split("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                os.remove(leftover)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        pass
    return True


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path to write ``path`` through: beside it (after following links) and renamed
    onto it when the block ends without error, removed otherwise; for a device, pipe or socket,
    in a private folder and then copied into it. ``path``'s suffix is kept (that of the link,
    when the link's target has none), so tools that choose a format by extension write the right one."""
    real = check_output_file(path)
    suffix = os.path.splitext(path)[1] or os.path.splitext(real)[1] or ".tmp"
    if is_special(real):
        with tempfile.TemporaryDirectory(prefix="edgefer-") as folder:
            temporary = os.path.join(folder, "output" + suffix)
            yield temporary
            try:
                with open(temporary, "rb") as source, open(real, "wb") as target:
                    shutil.copyfileobj(source, target)
            except OSError as exc:
                raise _os_error(path, exc) from None
        return
    folder = os.path.dirname(real) or "."
    check_output_folder(folder)
    _remove_leftovers(real)
    handle, temporary = tempfile.mkstemp(prefix=f"{_temporary_stem(real)}{os.getpid()}-", suffix=suffix, dir=folder)
    os.close(handle)
    try:
        yield temporary
        if os.path.exists(real):
            os.chmod(temporary, stat.S_IMODE(os.stat(real).st_mode))
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, real)
    except OSError as exc:
        raise _os_error(path, exc) from None
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` as the module docstring says."""
    real = os.path.realpath(path)
    if is_special(real):
        try:
            with open(real, "wb") as f:
                f.write(data)
        except OSError as exc:
            raise _os_error(path, exc) from None
        return
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as f:
            f.write(data)


def write_with(path: str, writer: Callable[[str], None]) -> None:
    """Let ``writer(temporary_path)`` write the file (a figure, an image), then move it into place."""
    with atomic_path(path) as temporary:
        writer(temporary)


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str, obj) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")


def read_json(path: str):
    """The JSON in ``path``, or a one-line error naming it."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise EdgeferError(f"{path}: not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EdgeferError(f"{path}: not readable JSON ({str(exc).splitlines()[0]})") from None
