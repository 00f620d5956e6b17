"""The camera's ICE settings: checked, and TURN credentials that expire (the TURN REST scheme)."""

import base64
import hashlib
import hmac

import pytest

from app.webrtc import TURN_CREDENTIAL_SECONDS, IceConfigError, check_ice_servers, ice_servers
from helpers import open_page


def test_turn_servers_get_a_credential_that_expires_and_stun_servers_none(monkeypatch):
    monkeypatch.setenv("FER_ICE_SERVERS", '[{"urls": "turn:turn.example.org:3478"}, {"urls": ["stun:s.example.org"]},'
                                          ' {"urls": ["turn:t2.example.org"], "username": "u", "credential": "c"}]')
    monkeypatch.setenv("FER_TURN_SECRET", "shared-secret")
    turn, stun, own = ice_servers(now=1_000_000)
    expires, _ = turn["username"].split(":")
    assert int(expires) == 1_000_000 + TURN_CREDENTIAL_SECONDS
    expected = hmac.new(b"shared-secret", turn["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == expected and "shared-secret" not in str(turn)
    assert turn["urls"] == ["turn:turn.example.org:3478"]
    assert "credential" not in stun and own["credential"] == "c"
    monkeypatch.delenv("FER_TURN_SECRET")
    assert "credential" not in ice_servers()[0]


@pytest.mark.parametrize("servers", [{"urls": "turn:x"}, [{"url": "turn:x"}], [{"urls": ["http://x"]}], ["turn:x"]])
def test_a_malformed_setting_is_named(servers):
    with pytest.raises(IceConfigError):
        check_ice_servers(servers)


def test_the_camera_page_names_a_malformed_setting_instead_of_starting(monkeypatch):
    monkeypatch.setenv("FER_ICE_SERVERS", "[{urls: turn:nope}")
    at = open_page("1_Live_camera.py")
    assert not at.exception
    assert len(at.error) == 1 and "FER_ICE_SERVERS is not valid JSON" in at.error[0].value
