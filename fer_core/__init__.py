"""fer_core: facial emotion recognition on FER2013 — data, preprocessing, detection, models, training, inference."""

import os as _os
import sys as _sys

# TensorFlow turns on oneDNN's custom operations on CPUs with AVX-512 (and only there). Their numerics differ from
# the default kernels', and their convolution gradients crash Grad-CAM (a segfault in conv2d_backprop_filter). The
# switch is read once, when TensorFlow loads, so it is set here, before any part of fer_core can import TensorFlow:
# the same kernels then run on every CPU. Setting TF_ENABLE_ONEDNN_OPTS=1 yourself still turns them on.
# When the caller loaded TensorFlow first, with the switch unset, it comes too late: explain.saliency then avoids
# TensorFlow's gradients.
ONEDNN_MAY_BE_ON = "tensorflow" in _sys.modules and "TF_ENABLE_ONEDNN_OPTS" not in _os.environ
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from fer_core.inference.boxes import Box, Detection  # noqa: E402
from fer_core.inference.detect import DetectorConfig, detect, detect_faces  # noqa: E402
from fer_core.inference.draw import draw_results  # noqa: E402
from fer_core.inference.framing import FaceFraming  # noqa: E402
from fer_core.inference.imageio import ImageDecodeError, decode_image, read_image  # noqa: E402
from fer_core.inference.live import LiveAnalyzer  # noqa: E402
from fer_core.inference.pipeline import Analyzer, FaceResult, analyze, default_analyzer  # noqa: E402
from fer_core.inference.predictor import ModelLoadError, Predictor  # noqa: E402
from fer_core.inference.preprocess import preprocess_face, preprocess_faces  # noqa: E402
from fer_core.labels import EMOTIONS  # noqa: E402

__version__ = "1.1.0"
__all__ = [
    "EMOTIONS", "Analyzer", "Box", "Detection", "DetectorConfig", "FaceFraming", "FaceResult", "ImageDecodeError",
    "LiveAnalyzer", "ModelLoadError", "Predictor", "analyze", "decode_image", "default_analyzer", "detect",
    "detect_faces", "draw_results", "preprocess_face", "preprocess_faces", "read_image",
]
