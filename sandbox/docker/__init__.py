"""The Docker backend of :mod:`sandbox`: hardened warm containers driven through the ``docker`` SDK.

Modules, each importing only the ones listed before it:

* :mod:`sandbox.docker.engine` - :func:`~sandbox.docker.engine.connect` to a Docker engine;
* :mod:`sandbox.docker.image` - the runner image (build it, inspect it);
* :mod:`sandbox.docker.supervisor` - the program run as PID 1 in every container (sent as source);
* :mod:`sandbox.docker.zygote` - the program the supervisor forks Python runs from (sent as source);
* :mod:`sandbox.docker.pool` - the warm pool of containers and their supervisor channels;
* :mod:`sandbox.docker.backend` - :class:`~sandbox.docker.backend.DockerSandbox`.

Pick the backend with ``sandbox.open_sandbox("docker")``. Inside this package ``import docker``
is the third-party SDK (imports are absolute), never this package; do not run a file of this
folder as a script (``python sandbox/docker/pool.py``), which would put the folder on
``sys.path`` and let this package shadow the SDK (``python -m sandbox.docker.pool`` is fine).
"""
