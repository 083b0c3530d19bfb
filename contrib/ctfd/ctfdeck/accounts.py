"""Who a request acts for, in ctfdeck's terms."""

from CTFd.utils.config import is_teams_mode


def owner_of(user, team):
    """`team:<id>` in team mode, `user:<id>` in user mode (ids: stable, unlike names)."""
    if is_teams_mode():
        return f"team:{team.id}"
    return f"user:{user.id}"


def actor_of(user):
    """What ctfdeck's audit shows beside the token's name."""
    return f"{user.name} (user {user.id})"
