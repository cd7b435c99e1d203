"""JupyterLab settings of the instructor's server on the course hub (this folder is its JUPYTER_CONFIG_PATH).

The hub has no internet of its own: no news, no update checks. The defaults of lab-settings/
overrides.json: no news question, every notebook cell attached (windowingMode none).
"""

import os

c = get_config()  # noqa: F821 (provided by Jupyter)
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.app_settings_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab-settings")

# formgrader shows in an iframe of JupyterLab, from the same server; jupyterhub-singleuser's default
# Content-Security-Policy (frame-ancestors 'none') would refuse it. 'self': this server's own pages only.
c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}
