"""The course hub's configuration files (hub/): what they set, without starting anything."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from conftest import ROOT
from traitlets.config.loader import PyFileConfigLoader

from cnn_course.hub.settings import Hub

HUB = ROOT / "hub"


def load(path: Path, **env: str):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_hub_nbgrader_config_has_the_course_id_and_one_exchange():
    course = load(ROOT / "nbgrader_config.py")
    student = load(HUB / "nbgrader_config.py", CNN_HUB_EXCHANGE="/srv/x/exchange")
    assert student.CourseDirectory.course_id == course.CourseDirectory.course_id == "cnn-lecture-2025"
    assert student.Exchange.root == "/srv/x/exchange"
    assert "root" not in student.CourseDirectory  # a student has no course folder


def test_jupyterhub_config_logs_in_with_pam_and_spawns_as_each_user(tmp_path):
    Hub(dir=str(tmp_path), port=8123, course_id="cnn-lecture-2025", python="/venv/bin/python").save()
    c = load(HUB / "jupyterhub_config.py", CNN_HUB_DIR=str(tmp_path))
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.JupyterHub.spawner_class == "cnn_course.hub.spawner.CourseSpawner"
    assert c.LocalAuthenticator.allowed_groups == {"cnn-students", "cnn-instructors"}
    assert (c.JupyterHub.ip, c.JupyterHub.port) == ("127.0.0.1", 8123)
    assert c.Spawner.cmd == ["/venv/bin/jupyterhub-singleuser"]
    assert "dummy" not in (HUB / "jupyterhub_config.py").read_text().lower()


def test_students_do_not_get_formgrader():
    import json

    page = json.loads((HUB / "etc" / "student" / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyter/nbgrader:formgrader"] is True
    server = json.loads((HUB / "etc" / "student" / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"]["nbgrader.server_extensions.formgrader"] is False


def test_z2jh_values_use_the_same_exchange_layout():
    values = yaml.safe_load((HUB / "z2jh-values.yaml").read_text())
    mounts = values["singleuser"]["storage"]["extraVolumeMounts"]
    assert {"name": "nbgrader-exchange", "mountPath": "/srv/cnn-course/exchange"} in mounts
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] != "dummy"
