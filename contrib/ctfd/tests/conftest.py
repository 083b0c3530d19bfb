"""Import the plugin as CTFd does (as `CTFd.plugins.ctfdeck`) when CTFd's source is on the path."""

import importlib
import sys

try:
    import CTFd.plugins  # noqa: F401  (CTFd's source tree, from PYTHONPATH)
except ImportError:
    pass
else:
    import os

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        "CTFd.plugins.ctfdeck",
        os.path.join(here, "ctfdeck", "__init__.py"),
        submodule_search_locations=[os.path.join(here, "ctfdeck")],
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules["CTFd.plugins.ctfdeck"] = package
    spec.loader.exec_module(package)
    sys.modules["ctfdeck_plugin_under_test"] = package
