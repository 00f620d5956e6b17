"""WebRTC settings for the camera page."""

from __future__ import annotations

import json
import os

import streamlit as st


def ice_servers() -> list[dict]:
    """ICE servers for WebRTC: $FER_ICE_SERVERS (JSON list) or secrets' ice_servers; none by default, which
    works on the same machine and on a LAN without internet."""
    raw = os.environ.get("FER_ICE_SERVERS")
    if raw:
        return json.loads(raw)
    try:
        return list(st.secrets.get("ice_servers", []))
    except (FileNotFoundError, KeyError, AttributeError):
        return []
    except Exception:  # noqa: BLE001 - Streamlit raises its own error type when no secrets file exists
        return []
