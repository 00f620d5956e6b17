"""fer_core: facial emotion recognition on FER2013 — data, preprocessing, detection, models, training, inference."""

# First, before any part of fer_core can import TensorFlow (fer_core.machine says why).
from fer_core.machine import ONEDNN_MAY_BE_ON  # noqa: F401, I001 (kept as fer_core.ONEDNN_MAY_BE_ON)

from fer_core.inference.boxes import Box, Detection  # noqa: E402
from fer_core.inference.detect import DetectorConfig, detect, detect_faces  # noqa: E402
from fer_core.inference.draw import draw_results  # noqa: E402
from fer_core.inference.framing import FaceFraming  # noqa: E402
from fer_core.inference.imageio import ImageDecodeError, decode_image, read_image  # noqa: E402
from fer_core.inference.live import LiveAnalyzer  # noqa: E402
from fer_core.inference.pipeline import Analyzer, FaceResult, analyze, default_analyzer  # noqa: E402
from fer_core.errors import ModelLoadError  # noqa: E402
from fer_core.inference.predictor import Predictor  # noqa: E402
from fer_core.inference.preprocess import preprocess_face, preprocess_faces  # noqa: E402
from fer_core.labels import EMOTIONS  # noqa: E402

__version__ = "1.1.0"
__all__ = [
    "EMOTIONS", "Analyzer", "Box", "Detection", "DetectorConfig", "FaceFraming", "FaceResult", "ImageDecodeError",
    "LiveAnalyzer", "ModelLoadError", "Predictor", "analyze", "decode_image", "default_analyzer", "detect",
    "detect_faces", "draw_results", "preprocess_face", "preprocess_faces", "read_image",
]
