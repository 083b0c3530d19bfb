"""The `ctfdeck` challenge type: CTFd's challenge with a ctfdeck catalog id, dynamic scoring, and
flags checked by ctfdeck (each owner's instance has its own)."""

from flask import Blueprint

from CTFd.exceptions.challenges import (
    ChallengeCreateException,
    ChallengeUpdateException,
)
from CTFd.models import Flags, db
from CTFd.plugins.challenges import BaseChallenge, ChallengeResponse
from CTFd.plugins.challenges.decay import DECAY_FUNCTIONS, logarithmic
from CTFd.utils.user import get_current_team, get_current_user

from . import settings
from .accounts import actor_of, owner_of
from .client import CtfdeckError
from .models import CtfdeckChallenge, CtfdeckFlagShare

ASSETS = "/plugins/ctfdeck/assets/"
SCORING = ("initial", "minimum", "decay")
TRUE_WORDS = ("1", "true", "yes", "on", "y")


def normalise(data, creating):
    """Form and JSON bodies alike: booleans from strings, the ctfdeck id trimmed, and dynamic
    scoring turned on when its numbers are given without a function."""
    data = dict(data)
    if "ctfdeck_challenge" in data:
        data["ctfdeck_challenge"] = str(data["ctfdeck_challenge"] or "").strip()
    if creating and not data.get("ctfdeck_challenge"):
        raise ChallengeCreateException("Missing 'ctfdeck_challenge' (a ctfdeck catalog id)")
    if "ctfdeck_stop_on_solve" in data:
        value = data["ctfdeck_stop_on_solve"]
        data["ctfdeck_stop_on_solve"] = (
            value is True or str(value).strip().lower() in TRUE_WORDS
        )
    if creating and "function" not in data and any(k in data for k in SCORING):
        data["function"] = "logarithmic"
    return data


def calculate_value(challenge):
    f = DECAY_FUNCTIONS.get(challenge.function, logarithmic)
    challenge.value = f(challenge)
    db.session.commit()
    return challenge


class CtfdeckChallengeType(BaseChallenge):
    id = "ctfdeck"
    name = "ctfdeck"
    templates = {
        "create": ASSETS + "create.html",
        "update": ASSETS + "update.html",
        "view": ASSETS + "view.html",
    }
    scripts = {
        "create": ASSETS + "create.js",
        "update": ASSETS + "update.js",
        "view": ASSETS + "view.js",
    }
    route = ASSETS
    blueprint = Blueprint(
        "ctfdeck", __name__, template_folder="templates", static_folder="assets"
    )
    challenge_model = CtfdeckChallenge

    @classmethod
    def create(cls, request):
        data = normalise(request.form or request.get_json() or {}, creating=True)
        data.pop("scheduled_at", None)
        if data.get("function") in DECAY_FUNCTIONS:
            if data.get("value") and not data.get("initial"):
                data["initial"] = data["value"]
            for attr in SCORING:
                if data.get(attr) in (None, ""):
                    raise ChallengeCreateException(
                        f"Missing '{attr}' but function is {data['function']}"
                    )
        try:
            challenge = cls.challenge_model(**data)
        except TypeError as e:
            raise ChallengeCreateException(f"Invalid field: {e}")
        db.session.add(challenge)
        db.session.commit()
        if challenge.function in DECAY_FUNCTIONS:
            return calculate_value(challenge)
        return challenge

    @classmethod
    def read(cls, challenge):
        data = super().read(challenge)
        data.update(
            {
                "ctfdeck_challenge": challenge.ctfdeck_challenge,
                "ctfdeck_stop_on_solve": bool(challenge.ctfdeck_stop_on_solve),
            }
        )
        return data

    @classmethod
    def update(cls, challenge, request):
        data = normalise(request.form or request.get_json() or {}, creating=False)
        data.pop("scheduled_at", None)
        if "ctfdeck_challenge" in data and not data["ctfdeck_challenge"]:
            raise ChallengeUpdateException("'ctfdeck_challenge' may not be empty")
        for attr, value in data.items():
            if attr in SCORING and value is not None:
                try:
                    value = float(value)
                except (ValueError, TypeError):
                    db.session.rollback()
                    raise ChallengeUpdateException(f"Invalid input for '{attr}'")
            setattr(challenge, attr, value)
        if challenge.function in DECAY_FUNCTIONS:
            for attr in SCORING:
                if getattr(challenge, attr) is None:
                    db.session.rollback()
                    raise ChallengeUpdateException(
                        f"Missing '{attr}' but function is {challenge.function}"
                    )
        db.session.commit()
        if challenge.function in DECAY_FUNCTIONS:
            return calculate_value(challenge)
        return challenge

    @classmethod
    def delete(cls, challenge):
        CtfdeckFlagShare.query.filter_by(challenge_id=challenge.id).delete()
        super().delete(challenge)

    @classmethod
    def attempt(cls, challenge, request):
        """Flags set in CTFd first (static flags keep working); then ctfdeck: `own` and
        `static` are correct, `shared` and `wrong` are not."""
        data = request.form or request.get_json()
        submission = data["submission"].strip()
        if Flags.query.filter_by(challenge_id=challenge.id).count():
            answer = super().attempt(challenge, request)
            if tuple(answer)[0]:
                return answer
        user = get_current_user()
        team = get_current_team()
        owner = owner_of(user, team)
        try:
            verdict = settings.client().verify(
                owner, actor_of(user), challenge.ctfdeck_challenge, submission
            )
        except CtfdeckError as e:
            return ChallengeResponse(
                status="incorrect", message=f"The flag could not be checked: {e.message}"
            )
        if verdict in ("own", "static"):
            return ChallengeResponse(status="correct", message="Correct")
        if verdict == "shared":
            # ctfdeck has audited it (flag-shared, with whose flag it was); keep a line here too.
            db.session.add(
                CtfdeckFlagShare(
                    challenge_id=challenge.id,
                    user_id=user.id,
                    team_id=team.id if team else None,
                    owner=owner,
                )
            )
            db.session.commit()
        return ChallengeResponse(status="incorrect", message="Incorrect")

    @classmethod
    def solve(cls, user, team, challenge, request):
        super().solve(user, team, challenge, request)
        if challenge.ctfdeck_stop_on_solve:
            stop_instance_of(owner_of(user, team), actor_of(user), challenge)


def stop_instance_of(owner, actor, challenge):
    """Stop-on-solve: best effort. The solve stands whatever ctfdeck answers; the instance then
    expires on its own."""
    try:
        client = settings.client()
        instance = client.live_instance(owner, challenge.ctfdeck_challenge)
        if instance is not None:
            client.stop(owner, actor, instance["id"])
    except CtfdeckError:
        pass
