"""The admin side: /admin/ctfdeck (URL, token, test connection, flag-sharing incidents) and the
catalog the create form's select is filled from."""

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from CTFd.utils.decorators import admins_only

from . import settings
from .client import CtfdeckError
from .models import CtfdeckFlagShare

admin = Blueprint("ctfdeck_admin", __name__)


@admin.route("/admin/ctfdeck", methods=["GET", "POST"])
@admins_only
def page():
    if request.method == "POST":
        # CTFd's CSRF check has already compared the form's nonce with the session's.
        settings.save(request.form.get("url", ""), request.form.get("token", ""))
        return redirect(url_for("ctfdeck_admin.page"))
    incidents = CtfdeckFlagShare.query.order_by(CtfdeckFlagShare.id.desc()).limit(200).all()
    return render_template(
        "plugins/ctfdeck/templates/ctfdeck_admin.html",
        url=settings.api_url(),
        token_set=bool(settings.api_token()),
        incidents=incidents,
    )


@admin.route("/api/v1/ctfdeck/admin/test", methods=["GET"])
@admins_only
def test_connection():
    """`/healthz` (engine, store) and `/v1/challenges` (the token works), as one answer."""
    try:
        client = settings.client()
        health = client.health()
        challenges = client.challenges()
    except CtfdeckError as e:
        return jsonify(e.as_json()), 200
    return jsonify(
        {
            "success": True,
            "data": {"health": health, "challenges": [c["id"] for c in challenges]},
        }
    )


@admin.route("/api/v1/ctfdeck/catalog", methods=["GET"])
@admins_only
def catalog():
    try:
        challenges = settings.client().challenges()
    except CtfdeckError as e:
        return jsonify(e.as_json()), e.status
    return jsonify({"success": True, "data": challenges})
