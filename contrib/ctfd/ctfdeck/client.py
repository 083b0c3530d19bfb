"""The plugin's only way to ctfdeck: its scoreboard HTTP API (`ctfdeck serve`, docs/API.md).

Nothing here imports CTFd, so it can be tested on its own.
"""

from urllib.parse import quote

import requests

# How long a player waits at most before hearing that ctfdeck does not answer. A spawn may take
# longer (the container must come up), so it gets its own, larger read timeout.
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 8
SPAWN_READ_TIMEOUT = 90


class CtfdeckError(Exception):
    """ctfdeck said no, or could not be reached. `status` is the HTTP status to pass on."""

    def __init__(self, status, code, message, retry_after=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        # /healthz answers 503 with the state of each part rather than an error object.
        self.parts = None

    def as_json(self):
        error = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return {"success": False, "error": error}


class Client:
    def __init__(self, url, token, session=None):
        if not url or not token:
            raise CtfdeckError(
                503,
                "not-configured",
                "Instances are not configured on this scoreboard yet "
                "(an admin sets the ctfdeck API URL and token).",
            )
        self.url = url.rstrip("/")
        self.token = token
        self.http = session or requests.Session()

    # --- routes -------------------------------------------------------------------------

    def health(self):
        """`{"engine": "ok"|"down", "store": "ok"|"down"}`; a 503 still carries the parts."""
        try:
            return self._call("GET", "/healthz", auth=False)
        except CtfdeckError as e:
            if e.parts is not None:
                return e.parts
            raise

    def challenges(self):
        return self._call("GET", "/v1/challenges")

    def instances(self, owner):
        return self._call("GET", "/v1/instances", owner=owner)

    def live_instance(self, owner, challenge):
        """The owner's live instance of `challenge`, or None."""
        for instance in self.instances(owner):
            if instance.get("challenge") == challenge:
                return instance
        return None

    def spawn(self, owner, actor, challenge):
        """The instance (201 new, 200 the owner's own), or, with 202, a place in the spawn queue
        (`{"status": "queued", "queue_position": …}`) or a spawn still under way
        (`{"status": "starting"}`): a full event queues players rather than refusing them."""
        return self._call(
            "POST",
            "/v1/instances",
            owner=owner,
            actor=actor,
            body={"challenge": challenge, "queue": True},
            read_timeout=SPAWN_READ_TIMEOUT,
        )

    def queue_place(self, owner, challenge):
        """The owner's place in the spawn queue for `challenge`, or None."""
        for place in self._call("GET", "/v1/queue", owner=owner):
            if place.get("challenge") == challenge:
                return place
        return None

    def leave_queue(self, owner, actor, challenge):
        self._call("DELETE", f"/v1/queue/{quote(challenge, safe='')}", owner=owner, actor=actor)

    def extend(self, owner, actor, instance_id):
        return self._call(
            "POST", f"/v1/instances/{instance_id}/extend", owner=owner, actor=actor
        )

    def reset(self, owner, actor, instance_id):
        return self._call(
            "POST",
            f"/v1/instances/{instance_id}/reset",
            owner=owner,
            actor=actor,
            read_timeout=SPAWN_READ_TIMEOUT,
        )

    def stop(self, owner, actor, instance_id):
        return self._call(
            "DELETE",
            f"/v1/instances/{instance_id}",
            owner=owner,
            actor=actor,
            read_timeout=SPAWN_READ_TIMEOUT,
        )

    def verify(self, owner, actor, challenge, flag):
        """`own`, `shared`, `static` or `wrong`."""
        answer = self._call(
            "POST",
            "/v1/flags/verify",
            owner=owner,
            actor=actor,
            body={"challenge": challenge, "flag": flag},
        )
        return answer["verdict"]

    # --- transport ----------------------------------------------------------------------

    def _call(
        self, method, path, owner=None, actor=None, body=None, auth=True, read_timeout=None
    ):
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        if owner:
            headers["X-Ctfdeck-Owner"] = owner
        if actor:
            headers["X-Ctfdeck-Actor"] = actor
        try:
            reply = self.http.request(
                method,
                self.url + path,
                headers=headers,
                json=body,
                timeout=(CONNECT_TIMEOUT, read_timeout or READ_TIMEOUT),
            )
        except requests.Timeout:
            raise CtfdeckError(
                504,
                "ctfdeck-timeout",
                "The instance service did not answer in time; try again in a minute.",
            )
        except requests.RequestException:
            raise CtfdeckError(
                503,
                "ctfdeck-unreachable",
                "The instance service is unreachable right now; try again in a minute.",
            )
        if reply.status_code == 204:
            return None
        try:
            data = reply.json()
        except ValueError:
            data = None
        if reply.ok and data is not None:
            return data
        raise error_from(reply.status_code, data, reply.headers.get("Retry-After"))


def error_from(status, data, retry_after=None):
    """A CtfdeckError from one of ctfdeck's error answers (docs/API.md, Errors)."""
    error = (data or {}).get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        # Not ctfdeck's shape: /healthz's parts, a proxy in between, or an older daemon.
        unexpected = CtfdeckError(
            502, "ctfdeck-bad-answer", f"The instance service answered HTTP {status}."
        )
        if isinstance(data, dict) and "engine" in data:
            unexpected.parts = data
        return unexpected
    try:
        retry = int(retry_after) if retry_after is not None else None
    except ValueError:
        retry = None
    # 401/403 token-role are the scoreboard's own configuration problem, not the player's.
    if status == 401 or error.get("code") == "token-role":
        return CtfdeckError(
            503,
            "ctfdeck-token",
            "The scoreboard's ctfdeck token is refused; tell the organisers.",
        )
    return CtfdeckError(
        status,
        str(error.get("code", "error")),
        str(error.get("message", "")),
        retry,
    )


def extend_refusal(instance):
    """Why Extend is unavailable for `instance` now, or None when it may be asked.

    The API says only whether an extend would be granted (`can_extend_now`); the reason shown to
    players is worked out from the fields it does give.
    """
    if instance.get("can_extend_now"):
        return None
    if instance.get("status") != "running":
        return "The instance is not running."
    if instance.get("renewals_left", 0) <= 0:
        return "No extensions left for this instance."
    return "Not yet: extending opens closer to the expiry, within the maximum lifetime."


def player_view(instance):
    """The fields the player's modal shows; never anything else of the instance."""
    if instance is None:
        return None
    return {
        "id": instance.get("id"),
        "status": instance.get("status"),
        "connection": instance.get("connection", []),
        "expires_at": instance.get("expires_at"),
        "seconds_left": instance.get("seconds_left"),
        "renewals": instance.get("renewals"),
        "renewals_left": instance.get("renewals_left"),
        "max_renewals": instance.get("max_renewals"),
        "can_extend_now": bool(instance.get("can_extend_now")),
        "extend_refusal": extend_refusal(instance),
    }


def queue_view(place):
    """What the player's window shows of a place in the spawn queue."""
    if place is None:
        return None
    return {
        "position": place.get("queue_position"),
        "estimate_seconds": place.get("estimate_seconds"),
    }
