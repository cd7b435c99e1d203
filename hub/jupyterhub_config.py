"""JupyterHub configuration of the CNN lecture's course hub (JupyterHub 6, `make hub`).

`cnn-course hub start` (what `make hub` runs, as root) writes the hub's settings to
<hub dir>/hub.json and starts `jupyterhub -f hub/jupyterhub_config.py` with CNN_HUB_DIR set;
this file reads them. Real parts only:

- logins: JupyterHub's default PAMAuthenticator, against the machine's own accounts and
  passwords (`useradd`, `chpasswd`: cnn-course hub start makes them); only the course's two
  groups may log in;
- the proxy: the official configurable-http-proxy (npm), which `make hub` installs into
  .hub/ of this checkout when it is not on PATH;
- servers: `cnn_course.hub.spawner.CourseSpawner`, JupyterHub's LocalProcessSpawner that starts
  each user's JupyterLab as that user's own Unix account (the hub runs as root to do so);
- nbgrader: one exchange folder (<hub dir>/exchange, mode 1777) and nbgrader's JupyterLab
  extensions: Assignments for students; formgrader and the course list for the instructor
  (etc/student and etc/instructor of the hub dir, copies of hub/etc/ in this checkout).

For a class on the internet, change the marked lines: HTTPS (ssl_cert/ssl_key or a TLS proxy in
front) and the university's login (an OAuthenticator or LDAPAuthenticator instead of PAM).
"""

import os

from cnn_course.hub.settings import Hub

c = get_config()  # noqa: F821 (JupyterHub provides it)
hub = Hub.load(os.environ["CNN_HUB_DIR"])

# --- where it listens: the proxy on 127.0.0.1:PORT; the hub's API and the proxy's API behind it
c.JupyterHub.ip = hub.ip  # production: the public interface, with HTTPS:
c.JupyterHub.port = hub.port  #   c.JupyterHub.ssl_cert = "/etc/letsencrypt/live/<host>/fullchain.pem"
c.JupyterHub.hub_ip = "127.0.0.1"  #   c.JupyterHub.ssl_key = "/etc/letsencrypt/live/<host>/privkey.pem"
c.JupyterHub.hub_port = hub.hub_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [os.environ.get("CNN_HUB_PROXY", "configurable-http-proxy")]
c.ConfigurableHTTPProxy.debug = False

# --- the hub's own state: root only
c.JupyterHub.db_url = f"sqlite:///{hub.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub.state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(hub.state / "jupyterhub.pid")

# --- who logs in: system accounts, by password (PAM); production: the university's login, e.g.
#   c.JupyterHub.authenticator_class = "oauthenticator.generic.GenericOAuthenticator" (SSO),
#   mapping each login to a local account (c.LocalAuthenticator.create_system_users = True)
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.service = "login"
c.PAMAuthenticator.open_sessions = False  # no login session (utmp, pam_systemd) per server
c.LocalAuthenticator.allowed_groups = {hub.student_group, hub.instructor_group}
c.Authenticator.admin_users = set()  # nobody administers the hub from the browser

# --- each user's JupyterLab, as that user (see cnn_course/hub/spawner.py and asuser.py)
c.JupyterHub.spawner_class = "cnn_course.hub.spawner.CourseSpawner"
c.CourseSpawner.hub_dir = hub.dir
c.Spawner.cmd = [str(hub.venv_bin / "jupyterhub-singleuser")]
c.Spawner.env_keep = ["LANG", "LC_ALL"]  # the spawner sets PATH, PYTHONPATH, Jupyter's config path
c.Spawner.notebook_dir = "~"  # a student's home: fetched assignments land in ~/lecture/
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 180  # generous: a small, shared machine
c.Spawner.http_timeout = 180
c.JupyterHub.cleanup_servers = True  # `make hub-stop` stops every user's server too
c.JupyterHub.shutdown_on_logout = False
c.JupyterHub.log_level = "INFO"
