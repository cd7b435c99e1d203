"""JupyterHub's ``LocalProcessSpawner`` for the course: each user's server runs as that user's own
Unix account (as the stock spawner does), prepared by :mod:`.asuser` (the Python it needs made
reachable, the repository's checkout out of sight) and with the course's environment for the
user's role (student or instructor). ``hub/jupyterhub_config.py`` selects it.
"""

from __future__ import annotations

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Unicode

from . import asuser
from .settings import Hub


class CourseSpawner(LocalProcessSpawner):
    """A user's JupyterLab server as that user, in the course environment of :mod:`.asuser`."""

    hub_dir = Unicode(help="folder of the course hub's settings (hub.json)").tag(config=True)

    @property
    def course_hub(self) -> Hub:
        return Hub.load(self.hub_dir)

    def make_preexec_fn(self, name):
        return asuser.preexec(self.course_hub, super().make_preexec_fn(name))

    def get_env(self):
        env = super().get_env()  # the hub's API token and OAuth settings for this server
        for key in ("PYTHONPATH", "VIRTUAL_ENV", "LD_LIBRARY_PATH"):  # nothing of the hub's own
            env.pop(key, None)
        env.update(asuser.environment(self.course_hub, self.user.name))
        env.setdefault("JUPYTERHUB_SINGLEUSER_APP", "jupyter_server.serverapp.ServerApp")
        return env
