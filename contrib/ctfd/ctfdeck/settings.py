"""Where ctfdeck is and which token to present: the admin page's values, else the environment."""

import os

from CTFd.utils import get_config, set_config

URL_KEY = "ctfdeck_api_url"
TOKEN_KEY = "ctfdeck_api_token"


def api_url():
    return get_config(URL_KEY) or os.environ.get("CTFDECK_API_URL", "")


def api_token():
    return get_config(TOKEN_KEY) or os.environ.get("CTFDECK_API_TOKEN", "")


def save(url, token):
    """An empty URL falls back to the environment; an empty token keeps the current one."""
    set_config(URL_KEY, url.strip())
    if token.strip():
        set_config(TOKEN_KEY, token.strip())


def client():
    from .client import Client

    return Client(api_url(), api_token())
