"""The course on a JupyterHub on one machine (``make hub``, ``cnn-course hub ...``).

* :mod:`.settings`: where the hub keeps everything (``/srv/cnn-course`` by default), its ports,
  its accounts' names; written to ``hub.json`` so that every later command finds them;
* :mod:`.accounts`: the course's Unix accounts and groups, with passwords (PAM logs them in);
* :mod:`.asuser`: a process as one of those users: the course environment, the Python it needs
  made reachable, the repository's checkout out of sight (used by the spawner and the commands);
* :mod:`.spawner`: JupyterHub's ``LocalProcessSpawner`` with that preparation;
* :mod:`.server`: ``cnn-course hub start | stop | status``: folders, accounts, course, the hub process;
* :mod:`.classroom`: the instructor's steps on the hub (release, collect, grade, feedback);
* :mod:`.load`: many students fetching and submitting at the same time (the load test).
"""
