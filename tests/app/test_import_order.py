import subprocess
import sys

from helpers import REPO_ROOT


def test_app_models_makes_webrtc_importable_after_tensorflow():
    """Regression: importing streamlit-webrtc after TensorFlow segfaulted in pylibsrtp's srtp_init()."""
    code = "import app.models, fer_core, tensorflow, streamlit_webrtc, aiortc; print('imported')"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "imported" in proc.stdout


def test_app_charts_makes_webrtc_importable_after_tensorflow():
    """Pages import app.charts before app.models (sorted imports), and app.charts loads fer_core."""
    code = "import app.charts, streamlit_webrtc, aiortc; print('imported')"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "imported" in proc.stdout
