"""Wiring into CTFd: the challenge type, its assets, the tables, the routes, the admin menu."""

from CTFd.models import db
from CTFd.plugins import register_admin_plugin_menu_bar, register_plugin_assets_directory
from CTFd.plugins.challenges import CHALLENGE_CLASSES

from .admin import admin
from .challenge_type import ASSETS, CtfdeckChallengeType
from .player import player


def register(app):
    # The plugin's tables (new ones only; CTFd's own are left alone).
    with app.app_context():
        db.create_all()
    CHALLENGE_CLASSES["ctfdeck"] = CtfdeckChallengeType
    register_plugin_assets_directory(app, base_path=ASSETS)
    app.register_blueprint(player)
    app.register_blueprint(admin)
    register_admin_plugin_menu_bar("ctfdeck", "/admin/ctfdeck")
