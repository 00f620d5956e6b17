"""WebRTC settings for the camera page: the ICE servers a browser gets, with short-lived TURN credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from typing import Any

import streamlit as st

# How long a browser's TURN credential stays valid (the TURN REST scheme): a camera session rarely lasts longer, and
# a leaked credential stops working by then.
TURN_CREDENTIAL_SECONDS = 3600


class IceConfigError(ValueError):
    """FER_ICE_SERVERS (or the secrets' ice_servers) is not a list of ICE servers."""


def configured_ice_servers() -> list[dict[str, Any]]:
    """$FER_ICE_SERVERS (JSON list) or secrets' ice_servers, checked; none by default, which works on the same
    machine and on a LAN without internet."""
    raw = os.environ.get("FER_ICE_SERVERS")
    if raw:
        try:
            servers = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise IceConfigError(f"FER_ICE_SERVERS is not valid JSON ({exc.msg} at character {exc.pos})") from None
    else:
        servers = _secret("ice_servers", [])
    return check_ice_servers(servers)


def check_ice_servers(servers: Any) -> list[dict[str, Any]]:
    if not isinstance(servers, list):
        raise IceConfigError("the ICE servers must be a JSON list of objects with \"urls\"")
    checked = []
    for server in servers:
        urls = server.get("urls") if isinstance(server, dict) else None
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not all(isinstance(url, str) and url.split(":", 1)[0] in ("stun", "stuns", "turn", "turns")
                               for url in urls):
            raise IceConfigError(f"each ICE server needs \"urls\" of stun:, stuns:, turn: or turns: addresses; got "
                                 f"{str(server)[:80]}")
        checked.append(dict(server) | {"urls": list(urls)})
    return checked


def turn_credentials(secret: str, now: float, user: str = "fer") -> tuple[str, str]:
    """(username, credential) of the TURN REST scheme (coturn's use-auth-secret): the username carries the expiry
    time and the credential is its HMAC-SHA1 under the secret shared with the TURN server."""
    username = f"{int(now) + TURN_CREDENTIAL_SECONDS}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(now: float | None = None) -> list[dict[str, Any]]:
    """The servers a browser gets. With $FER_TURN_SECRET (or the secrets' turn_secret), each TURN server without a
    credential of its own gets a short-lived one, so no lasting password reaches a browser."""
    servers = configured_ice_servers()
    secret = os.environ.get("FER_TURN_SECRET") or _secret("turn_secret", None)
    if not secret:
        return servers
    username, credential = turn_credentials(secret, time.time() if now is None else now)
    return [server | {"username": username, "credential": credential}
            if any(url.startswith("turn") for url in server["urls"]) and "credential" not in server else server
            for server in servers]


def _secret(name: str, default: Any) -> Any:
    try:
        return st.secrets.get(name, default)
    except Exception:  # noqa: BLE001 - Streamlit raises its own error type when no secrets file exists
        return default
