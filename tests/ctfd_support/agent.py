"""Drives a real CTFd over HTTP as browsers would (cookies, CSRF nonce), for tests/ctfd_plugin.rs.

One JSON request per line on stdin, one JSON answer per line on stdout:
  {"op": "setup", "mode": "teams"|"users", "name": .., "password": ..}
  {"op": "register", "who": .., "name": .., "password": ..}        (also logs in)
  {"op": "login", "who": .., "name": .., "password": ..}
  {"op": "team", "who": .., "name": .., "password": ..}            (create and join)
  {"op": "call", "who": .., "method": .., "path": .., "json": ..}  -> {"status", "body"}
  {"op": "page", "who": .., "path": ..}                            -> {"status", "text"}
  {"op": "form", "who": .., "path": .., "fields": {..}}            -> {"status"}   (with the page's nonce)
Each `who` has its own session. Runs with CTFd's own venv (it has `requests`).
"""

import json
import re
import sys

import requests

BASE = sys.argv[1].rstrip("/")
NONCE = re.compile(r"'csrfNonce': \"([0-9a-f]+)\"")
sessions = {}


def session(who):
    if who not in sessions:
        sessions[who] = requests.Session()
    return sessions[who]


def nonce(s, path):
    page = s.get(BASE + path, timeout=30)
    found = NONCE.search(page.text)
    if not found:
        raise RuntimeError(f"no CSRF nonce on {path} (HTTP {page.status_code})")
    return found.group(1)


def form(s, path, fields):
    """POST a form as the page at `path` would, and fail on a visible error."""
    fields = dict(fields, nonce=nonce(s, path))
    reply = s.post(BASE + path, data=fields, timeout=30, allow_redirects=False)
    if reply.status_code not in (200, 302, 303):
        raise RuntimeError(f"POST {path}: HTTP {reply.status_code}")
    if reply.status_code == 200 and 'alert-danger' in reply.text:
        errors = re.findall(r'<span>(.*?)</span>', reply.text)
        raise RuntimeError(f"POST {path} refused: {errors}")
    return reply


def handle(req):
    op = req["op"]
    if op == "setup":
        s = session(req["name"])
        form(
            s,
            "/setup",
            {
                "ctf_name": "ctfdeck e2e",
                "ctf_description": "",
                "user_mode": req["mode"],
                "name": req["name"],
                "email": f"{req['name']}@example.org",
                "password": req["password"],
                "ctf_theme": "core",
                "challenge_visibility": "private",
                "account_visibility": "public",
                "score_visibility": "public",
                "registration_visibility": "public",
                "verify_emails": "",
                "team_size": "",
                "start": "",
                "end": "",
            },
        )
        return {"ok": True}
    if op == "register":
        s = session(req["who"])
        form(
            s,
            "/register",
            {
                "name": req["name"],
                "email": f"{req['name']}@example.org",
                "password": req["password"],
            },
        )
        return {"ok": True}
    if op == "login":
        s = session(req["who"])
        form(s, "/login", {"name": req["name"], "password": req["password"]})
        return {"ok": True}
    if op == "team":
        s = session(req["who"])
        form(s, "/teams/new", {"name": req["name"], "password": req["password"]})
        return {"ok": True}
    if op == "call":
        s = session(req["who"])
        headers = {"Accept": "application/json"}
        if req["method"] not in ("GET", "HEAD"):
            headers["CSRF-Token"] = nonce(s, "/challenges") if req.get("csrf", True) else ""
        reply = s.request(
            req["method"],
            BASE + req["path"],
            json=req.get("json", {}) if req["method"] != "GET" else None,
            headers=headers,
            timeout=120,
        )
        try:
            body = reply.json()
        except ValueError:
            body = reply.text
        return {"status": reply.status_code, "body": body}
    if op == "form":
        reply = form(session(req["who"]), req["path"], req["fields"])
        return {"status": reply.status_code}
    if op == "page":
        reply = session(req["who"]).get(BASE + req["path"], timeout=30)
        return {"status": reply.status_code, "text": reply.text}
    raise RuntimeError(f"unknown op {op}")


for line in sys.stdin:
    try:
        answer = handle(json.loads(line))
    except Exception as e:  # reported to the test, which fails with it
        answer = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(answer), flush=True)
