"""The plugin's client for ctfdeck's API: what it sends, and how each answer reaches players."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ctfdeck import client as client_module
from ctfdeck.client import (
    Client,
    CtfdeckError,
    error_from,
    extend_refusal,
    player_view,
    queue_view,
)


class Recorder(BaseHTTPRequestHandler):
    """Answers with whatever the test queued, and keeps what it was asked."""

    answers = []
    seen = []

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Recorder.seen.append((self.command, self.path, dict(self.headers), body))
        status, payload, headers = Recorder.answers.pop(0)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = handle_one

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    # A loaded machine may be slow to answer even on loopback; timing is not tested here.
    monkeypatch.setattr(client_module, "READ_TIMEOUT", 60)
    Recorder.answers, Recorder.seen = [], []
    httpd = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_spawn_sends_the_token_owner_actor_and_challenge(server):
    Recorder.answers.append((201, {"id": "abc123", "challenge": "web-robots"}, {}))
    answer = Client(server, "ctfd_secret").spawn("team:7", "alice (user 3)", "web-robots")
    assert answer["id"] == "abc123"
    method, path, headers, body = Recorder.seen[0]
    assert (method, path) == ("POST", "/v1/instances")
    assert headers["Authorization"] == "Bearer ctfd_secret"
    assert headers["X-Ctfdeck-Owner"] == "team:7"
    assert headers["X-Ctfdeck-Actor"] == "alice (user 3)"
    # A full event queues the player rather than refusing them (docs/API.md, The spawn queue).
    assert json.loads(body) == {"challenge": "web-robots", "queue": True}


def test_a_place_in_the_queue_is_found_shown_and_left(server):
    places = [
        {"challenge": "nc-calc", "owner": "team:7", "status": "queued", "queue_position": 2},
        {
            "challenge": "web robots",
            "owner": "team:7",
            "status": "queued",
            "queue_position": 1,
            "estimate_seconds": 95,
        },
    ]
    Recorder.answers.append((200, places, {}))
    place = Client(server, "t").queue_place("team:7", "web robots")
    assert queue_view(place) == {"position": 1, "estimate_seconds": 95}
    assert Recorder.seen[-1][:2] == ("GET", "/v1/queue")
    Recorder.answers.append((200, places[:1], {}))
    assert Client(server, "t").queue_place("team:7", "web robots") is None
    assert queue_view(None) is None
    Recorder.answers.append((204, None, {}))
    Client(server, "t").leave_queue("team:7", "alice (user 3)", "web robots")
    method, path, headers, _ = Recorder.seen[-1]
    assert (method, path) == ("DELETE", "/v1/queue/web%20robots")
    assert headers["X-Ctfdeck-Actor"] == "alice (user 3)"


def test_a_queued_spawn_answers_the_place(server):
    place = {"challenge": "web-robots", "status": "queued", "queue_position": 3}
    Recorder.answers.append((202, place, {}))
    assert Client(server, "t").spawn("team:1", "a", "web-robots") == place


def test_live_instance_picks_the_challenge(server):
    Recorder.answers.append(
        (200, [{"id": "a", "challenge": "nc-calc"}, {"id": "b", "challenge": "web-robots"}], {})
    )
    assert Client(server, "t").live_instance("user:1", "web-robots")["id"] == "b"
    Recorder.answers.append((200, [], {}))
    assert Client(server, "t").live_instance("user:1", "web-robots") is None


def test_a_refusal_keeps_its_code_message_and_retry_after(server):
    refusal = {"error": {"code": "per-owner-quota", "message": "refused by the per-owner quota"}}
    Recorder.answers.append((429, refusal, {"Retry-After": "120"}))
    with pytest.raises(CtfdeckError) as caught:
        Client(server, "t").spawn("team:1", "a", "web-robots")
    e = caught.value
    assert (e.status, e.code, e.retry_after) == (429, "per-owner-quota", 120)
    assert e.as_json()["error"]["message"] == "refused by the per-owner quota"


def test_a_refused_token_is_the_organisers_problem_not_the_players(server):
    Recorder.answers.append((401, {"error": {"code": "unauthorized", "message": "no"}}, {}))
    with pytest.raises(CtfdeckError) as caught:
        Client(server, "t").instances("team:1")
    assert (caught.value.status, caught.value.code) == (503, "ctfdeck-token")


def test_stop_answers_nothing(server):
    Recorder.answers.append((204, None, {}))
    assert Client(server, "t").stop("team:1", "a", "abc") is None
    assert Recorder.seen[0][:2] == ("DELETE", "/v1/instances/abc")


def test_health_reports_parts_even_when_down(server):
    Recorder.answers.append((503, {"engine": "down", "store": "ok"}, {}))
    assert Client(server, "t").health() == {"engine": "down", "store": "ok"}


def test_unreachable_is_a_clear_503():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on `port` any more.
    with pytest.raises(CtfdeckError) as caught:
        Client(f"http://127.0.0.1:{port}", "t").instances("team:1")
    assert (caught.value.status, caught.value.code) == (503, "ctfdeck-unreachable")


def test_a_slow_ctfdeck_times_out_quickly(monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts, never answers
    monkeypatch.setattr(client_module, "READ_TIMEOUT", 0.5)
    try:
        with pytest.raises(CtfdeckError) as caught:
            Client(f"http://127.0.0.1:{listener.getsockname()[1]}", "t").instances("team:1")
    finally:
        listener.close()
    assert (caught.value.status, caught.value.code) == (504, "ctfdeck-timeout")


def test_not_configured():
    with pytest.raises(CtfdeckError) as caught:
        Client("", "")
    assert caught.value.code == "not-configured"


def test_an_answer_not_from_ctfdeck():
    e = error_from(502, None)
    assert (e.status, e.code) == (502, "ctfdeck-bad-answer")


@pytest.mark.parametrize(
    "instance, reason",
    [
        ({"can_extend_now": True, "status": "running", "renewals_left": 1}, None),
        ({"can_extend_now": False, "status": "exited", "renewals_left": 1}, "not running"),
        ({"can_extend_now": False, "status": "running", "renewals_left": 0}, "No extensions left"),
        ({"can_extend_now": False, "status": "running", "renewals_left": 2}, "Not yet"),
    ],
)
def test_extend_refusal_says_why(instance, reason):
    said = extend_refusal(instance)
    assert (said is None) if reason is None else (reason in said)


def test_player_view_keeps_only_what_players_see():
    shown = player_view(
        {"id": "a", "status": "running", "owner": "team:1", "container_id": "c0ffee",
         "connection": ["nc host 1"], "seconds_left": 5, "can_extend_now": True}
    )
    assert "container_id" not in shown and "owner" not in shown
    assert shown["connection"] == ["nc host 1"] and shown["extend_refusal"] is None
    assert player_view(None) is None
