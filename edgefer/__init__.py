"""edgefer: facial emotion recognition from a training host to small devices."""

import os

from edgefer.core.spec import MAX_PIXELS

__version__ = "0.1.0"

# OpenCV reads its decoding limit once, when it loads: set before anything imports cv2. The image
# reader (core/images.py) refuses larger PNG, JPEG, BMP and WebP files from their headers; this
# covers the other formats.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))
