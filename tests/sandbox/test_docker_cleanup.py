"""No container outlives its grader: Ctrl-C, SIGKILL, and leftovers reaped at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]

GRADER = r'''
import sys
from sandbox import Limits
from sandbox.docker.backend import DockerSandbox
from sandbox.docker.pool import owner_id

box = DockerSandbox(pool_size=2)
box.warm(count=2)
print(owner_id(), flush=True)
box.run(["sleep", "1000"], limits=Limits(wall_s=600))   # interrupted while this runs
'''


def _sleeping_in_a_container(client, owner: str) -> bool:
    """Whether the grader's ``sleep 1000`` runs in one of its containers (the signal must hit a live
    run)."""
    import docker

    from sandbox.docker.pool import sandbox_containers

    for container in sandbox_containers(client, owner):
        try:
            processes = client.containers.get(container.id).top().get("Processes") or []
        except docker.errors.DockerException:  # removed meanwhile
            continue
        if any("sleep 1000" in " ".join(map(str, row)) for row in processes):
            return True
    return False


def start_grader(tmp_path):
    script = tmp_path / "grader.py"
    script.write_text(GRADER)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    owner = proc.stdout.readline().strip()
    assert owner, f"grader did not start: {proc.stderr.read() if proc.poll() is not None else ''}"
    return proc, owner


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_interrupted_grader_leaves_no_container(
    docker_client, tmp_path, owned_containers, wait_until, signum
):
    proc, owner = start_grader(tmp_path)
    try:
        assert wait_until(lambda: len(owned_containers(docker_client, owner)) == 2, timeout_s=20)
        # the run started
        assert wait_until(lambda: _sleeping_in_a_container(docker_client, owner), timeout_s=20)
        proc.send_signal(signum)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert wait_until(lambda: not owned_containers(docker_client, owner), timeout_s=30), (
        f"containers left after {signal.Signals(signum).name}: "
        f"{owned_containers(docker_client, owner)}"
    )


def test_reaper_removes_containers_of_a_dead_owner(docker_client):
    from sandbox import Limits
    from sandbox.docker.backend import default_image
    from sandbox.docker.pool import LABEL, OWNER_LABEL, ContainerSpec, reap_orphans

    dead_owner = f"{__import__('socket').gethostname()}:999999999:0"
    orphan = docker_client.containers.create(
        default_image(),
        ["python3", "-c", "import time; time.sleep(600)"],
        labels={LABEL: "1", OWNER_LABEL: dead_owner},
        **ContainerSpec.from_limits(Limits()).create_kwargs(),
    )
    orphan.start()
    try:
        removed = reap_orphans(docker_client)
        assert orphan.id in removed
        assert not docker_client.containers.list(all=True, sparse=True, filters={"id": orphan.id})
    finally:
        try:
            orphan.remove(force=True)
        except Exception:
            pass


def test_reaper_spares_containers_of_live_owners(docker_box):
    from sandbox.docker.pool import reap_orphans

    docker_box.warm()
    ids = docker_box.pool.container_ids()
    removed = reap_orphans(docker_box.pool._client)
    assert not set(ids) & set(removed)
    assert docker_box.run(["true"]).exit_code == 0
