"""JupyterLab settings of the course hub's servers (this role's folder is their JUPYTER_CONFIG_PATH).

The hub has no internet of its own: no news, no update checks. The defaults of lab-settings/
overrides.json: no news question, every notebook cell attached (windowingMode none).
"""

import os

c = get_config()  # noqa: F821 (provided by Jupyter)
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.app_settings_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab-settings")
