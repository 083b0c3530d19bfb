"""ctfdeck for CTFd 3.x: per-team challenge instances run by `ctfdeck serve`.

Install by copying this folder to `CTFd/plugins/ctfdeck/`. Configure with the environment
variables CTFDECK_API_URL and CTFDECK_API_TOKEN, or on the admin page /admin/ctfdeck.
"""


def load(app):
    # Imported here so that the parts that do not need CTFd (client.py) import without it.
    from .plugin import register

    register(app)
