"""The Streamlit app's own helpers: page set-up, sidebar controls, the camera session, charts. Pages import them;
fer_core never does."""

# pylibsrtp (under streamlit-webrtc) segfaults in srtp_init() when TensorFlow is loaded before it (their bundled
# crypto libraries clash). Importing any module of this package loads it first, and every page imports one before
# fer_core.
import pylibsrtp  # noqa: F401
