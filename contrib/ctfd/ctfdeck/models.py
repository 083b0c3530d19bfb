"""The `ctfdeck` challenge type's table, and the flag-sharing incidents seen by the plugin."""

import datetime

from CTFd.models import Challenges, db


class CtfdeckChallenge(Challenges):
    """A challenge whose instances ctfdeck runs. Scoring: CTFd's own columns (static, or dynamic
    with initial/decay/minimum and a decay function)."""

    __tablename__ = "ctfdeck_challenges"
    __mapper_args__ = {"polymorphic_identity": "ctfdeck"}
    id = db.Column(
        db.Integer, db.ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True
    )
    # The challenge's id in ctfdeck's catalog, e.g. "web-robots".
    ctfdeck_challenge = db.Column(db.String(80), nullable=False)
    # Stop the owner's instance once it solves (frees capacity at large events).
    ctfdeck_stop_on_solve = db.Column(db.Boolean, default=False, nullable=False)


class CtfdeckFlagShare(db.Model):
    """A submission ctfdeck recognised as another owner's flag. ctfdeck's own audit has the
    full record (whose flag it was); this is what CTFd's admins see without leaving CTFd."""

    __tablename__ = "ctfdeck_flag_shares"
    id = db.Column(db.Integer, primary_key=True)
    challenge_id = db.Column(
        db.Integer, db.ForeignKey("challenges.id", ondelete="CASCADE")
    )
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"))
    team_id = db.Column(db.Integer, db.ForeignKey("teams.id", ondelete="CASCADE"))
    owner = db.Column(db.String(80))
    date = db.Column(db.DateTime, default=datetime.datetime.utcnow)

    challenge = db.relationship("Challenges", foreign_keys="CtfdeckFlagShare.challenge_id")
    user = db.relationship("Users", foreign_keys="CtfdeckFlagShare.user_id")
    team = db.relationship("Teams", foreign_keys="CtfdeckFlagShare.team_id")
