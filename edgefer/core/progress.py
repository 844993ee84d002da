"""Progress bars for long work, on stderr so stdout stays machine-readable."""

import sys

from tqdm import tqdm


def progress(iterable, total=None, desc=None):
    """Wrap ``iterable`` in a progress bar shown only when it is long enough to matter."""
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False, mininterval=0.5,
                disable=(total is not None and total < 200) or None)  # None: off when stderr is not a terminal
