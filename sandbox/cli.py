"""``rlvr sandbox build-image | status | reap``: manage the Docker sandbox from the command line.

Examples::

    rlvr sandbox build-image                        # mmdebstrap + docker import, tag rlvr-sandbox:1
    rlvr sandbox build-image --include nodejs,default-jdk --tag rlvr-sandbox:1-polyglot
    rlvr sandbox build-image --dockerfile docker/Dockerfile.sandbox --tag my-runner:1
    rlvr sandbox status --json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sandbox.errors import SandboxError


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Mount ``rlvr sandbox ...`` on the root parser's subparsers."""
    from sandbox.docker.image import DEFAULT_SUITE

    parser = sub.add_parser(
        "sandbox",
        help="manage the Docker sandbox (image, status, leftovers)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="sandbox_command", metavar="SANDBOX_COMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    build = commands.add_parser("build-image", help="build the runner image (no registry needed)")
    build.add_argument(
        "--tag", default=None, help="image tag (default: $RLVR_SANDBOX_IMAGE or rlvr-sandbox:1)"
    )
    build.add_argument(
        "--dockerfile", default=None, help="build from this Dockerfile instead of Debian packages"
    )
    build.add_argument(
        "--include",
        default="",
        help="extra Debian packages, comma-separated (e.g. nodejs); python3, gcc, g++ are always "
        "in",
    )
    build.add_argument("--suite", default=DEFAULT_SUITE, help="Debian suite for mmdebstrap")
    build.add_argument(
        "--mirror", default=None, help="Debian mirror URL (default: the host's apt sources)"
    )
    build.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
    build.set_defaults(func=run_build_image)

    status = commands.add_parser("status", help="engine, image and sandbox containers")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=run_status)

    reap = commands.add_parser("reap", help="remove sandbox containers whose grader is gone")
    reap.set_defaults(func=run_reap)


def run_build_image(args: argparse.Namespace) -> int:
    from sandbox.docker.backend import default_image
    from sandbox.docker.image import build_image

    include = [p.strip() for p in args.include.split(",") if p.strip()]
    try:
        build_image(
            args.tag or default_image(),
            dockerfile=args.dockerfile,
            include=include,
            suite=args.suite,
            mirror=args.mirror,
            force=args.force,
        )
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def collect_status() -> dict[str, Any]:
    """Engine reachability, the runner image and the sandbox containers, as a dict."""
    from sandbox.docker.backend import default_image
    from sandbox.docker.engine import connect
    from sandbox.docker.image import image_info
    from sandbox.docker.pool import (
        OWNER_LABEL,
        container_labels,
        container_state,
        sandbox_containers,
    )

    status: dict[str, Any] = {"engine": None, "image": None, "containers": [], "problems": []}
    try:
        client = connect(timeout_s=5, attempts=1)
    except SandboxError as exc:
        status["problems"].append(str(exc))
        return status
    status["engine"] = client.version().get("Version")
    try:
        status["image"] = image_info(client, default_image())
    except SandboxError as exc:
        status["problems"].append(str(exc))
    # sparse: a container removed meanwhile cannot fail the listing
    for container in sandbox_containers(client):
        status["containers"].append(
            {
                "id": container.short_id,
                "status": container_state(container),
                "owner": container_labels(container).get(OWNER_LABEL),
            }
        )
    return status


def run_status(args: argparse.Namespace) -> int:
    status = collect_status()
    if args.json:
        print(json.dumps(status, indent=2, default=str))
    else:
        print(f"engine:     {status['engine'] or 'unreachable'}")
        image = status["image"]
        print(f"image:      {image['tag'] + ' ' + image['id'][:19] if image else 'missing'}")
        print(f"containers: {len(status['containers'])}")
        for problem in status["problems"]:
            print(f"problem:    {problem}")
    return 0 if status["engine"] and status["image"] else 1


def run_reap(args: argparse.Namespace) -> int:
    from sandbox.docker.engine import connect
    from sandbox.docker.pool import reap_orphans

    try:
        removed = reap_orphans(connect())
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"removed {len(removed)} leftover container(s)")
    return 0
