"""Players' instance routes: /api/v1/ctfdeck/instances/<challenge_id>[/reset].

They act for the logged-in player's owner (`team:<id>` or `user:<id>`), only on visible
`ctfdeck` challenges the player may open. CSRF: CTFd's own check covers them (a CSRF-Token
header for JSON bodies, as for CTFd's routes).
"""

from flask import Blueprint, jsonify, request

from CTFd.models import Challenges, Solves
from CTFd.utils.config import is_teams_mode
from CTFd.utils.config.visibility import challenges_visible
from CTFd.utils.dates import ctftime
from CTFd.utils.modules import can_access_challenge
from CTFd.utils.user import authed, get_current_team, get_current_user, is_admin

from . import settings
from .accounts import actor_of, owner_of
from .client import CtfdeckError, player_view, queue_view
from .models import CtfdeckChallenge

player = Blueprint("ctfdeck_player", __name__, url_prefix="/api/v1/ctfdeck")


def refuse(status, code, message):
    return jsonify({"success": False, "error": {"code": code, "message": message}}), status


def prerequisites_met(challenge, user):
    requirements = (challenge.requirements or {}).get("prerequisites", [])
    if not requirements:
        return True
    solved = {
        s.challenge_id
        for s in Solves.query.with_entities(Solves.challenge_id).filter_by(
            account_id=user.account_id
        )
    }
    existing = {c.id for c in Challenges.query.with_entities(Challenges.id)}
    return solved >= set(requirements) & existing


def caller(challenge_id):
    """(user, team, challenge) for an allowed request, or a refusal to return."""
    if not authed():
        return None, refuse(403, "login-required", "Log in to start instances.")
    user = get_current_user()
    team = get_current_team()
    if user.banned or (team is not None and team.banned):
        return None, refuse(403, "banned", "Banned accounts cannot start instances.")
    if is_teams_mode() and team is None:
        return None, refuse(403, "team-required", "Join or create a team first.")
    challenge = CtfdeckChallenge.query.filter_by(id=challenge_id).first()
    if challenge is None:
        return None, refuse(404, "not-found", "No such challenge.")
    if not is_admin():
        if not challenges_visible():
            return None, refuse(403, "not-visible", "Challenges are not open to players.")
        if challenge.state == "hidden" or not can_access_challenge(challenge, user):
            return None, refuse(404, "not-found", "No such challenge.")
        if challenge.state == "locked" or not prerequisites_met(challenge, user):
            return None, refuse(403, "locked", "This challenge is locked.")
        if not ctftime():
            return None, refuse(403, "not-running", "The CTF is not running.")
    return (user, team, challenge), None


def answer(instance, status=200, place=None):
    data = {"instance": player_view(instance), "queue": queue_view(place)}
    return jsonify({"success": True, "data": data}), status


def spawned(client, owner, actor, slug):
    """POST: the new (or existing) instance, the place taken in the spawn queue when the event
    is full (202), or the instance still starting."""
    reply = client.spawn(owner, actor, slug)
    if reply.get("status") == "queued":
        return answer(None, 202, place=reply)
    if reply.get("status") == "starting" and "id" not in reply:
        # Answered before the engine was done: the instance shows as `starting` in the list.
        current = client.live_instance(owner, slug)
        return answer(current or {"status": "starting"}, 202)
    return answer(reply)


def failure(error):
    response = jsonify(error.as_json())
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response, error.status


@player.route("/instances/<int:challenge_id>", methods=["GET", "POST", "PATCH", "DELETE"])
def instance(challenge_id):
    who, refusal = caller(challenge_id)
    if refusal:
        return refusal
    user, team, challenge = who
    owner, actor = owner_of(user, team), actor_of(user)
    slug = challenge.ctfdeck_challenge
    try:
        client = settings.client()
        if request.method == "POST":
            return spawned(client, owner, actor, slug)
        current = client.live_instance(owner, slug)
        # Without an instance the player may be waiting in the spawn queue.
        place = client.queue_place(owner, slug) if current is None else None
        if request.method == "GET":
            return answer(current, place=place)
        if current is None and place is not None and request.method == "DELETE":
            client.leave_queue(owner, actor, slug)
            return answer(None)
        if current is None:
            return refuse(404, "no-instance", "You have no running instance of this challenge.")
        if request.method == "PATCH":
            return answer(client.extend(owner, actor, current["id"]))
        client.stop(owner, actor, current["id"])
        return answer(None)
    except CtfdeckError as e:
        return failure(e)


@player.route("/instances/<int:challenge_id>/reset", methods=["POST"])
def reset(challenge_id):
    who, refusal = caller(challenge_id)
    if refusal:
        return refusal
    user, team, challenge = who
    owner, actor = owner_of(user, team), actor_of(user)
    try:
        client = settings.client()
        current = client.live_instance(owner, challenge.ctfdeck_challenge)
        if current is None:
            return refuse(404, "no-instance", "You have no running instance of this challenge.")
        return answer(client.reset(owner, actor, current["id"]))
    except CtfdeckError as e:
        return failure(e)
