"""fer_core: facial emotion recognition on FER2013 — data, preprocessing, detection, models, training, inference."""

from .detect import Box, DetectorConfig, detect_faces
from .imageio import ImageDecodeError, decode_image, read_image
from .labels import EMOTIONS
from .pipeline import Analyzer, FaceResult, analyze, default_analyzer, draw_results
from .predictor import ModelLoadError, Predictor
from .preprocess import preprocess_face, preprocess_faces

__all__ = [
    "EMOTIONS", "Analyzer", "Box", "DetectorConfig", "FaceResult", "ImageDecodeError", "ModelLoadError",
    "Predictor", "analyze", "decode_image", "default_analyzer", "detect_faces", "draw_results",
    "preprocess_face", "preprocess_faces", "read_image",
]
