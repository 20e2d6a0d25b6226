"""Shared test helpers: tiny verifiers registered for the duration of a test."""

from __future__ import annotations

import os
import socket
import time

import pytest

from verifiers import BaseVerifier, Outcome, register, unregister


class EchoVerifier(BaseVerifier):
    """Test verifier: passes when the response equals reference["answer"]; can hang or crash on
    demand.

    Versions: 1 - first version.
    """

    name = "test_echo"
    version = 1
    description = "test-only exact match that can hang or crash"

    def check(self, response, reference):
        if response == "HANG":
            time.sleep(3600)
        if response == "CRASH":
            os._exit(7)
        if response == "RAISE":
            raise RuntimeError("boom")
        if "answer" not in reference:
            from verifiers import BadReferenceError

            raise BadReferenceError("reference needs 'answer'")
        if response == reference["answer"]:
            return Outcome.passed(answer=response)
        return Outcome.failed("wrong_answer", f"expected {reference['answer']!r}")


@pytest.fixture
def echo_verifier():
    register(EchoVerifier, replace=True)
    yield EchoVerifier
    unregister("test_echo@1")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def listener():
    """A listening socket on 127.0.0.1; yields its port and asserts that nobody connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.3)
    yield server.getsockname()[1]
    try:
        conn, _ = server.accept()
    except socket.timeout:
        conn = None
    server.close()
    assert conn is None, "the grader connected to the local listening socket"


def wait_until(predicate, timeout_s: float = 20.0, interval_s: float = 0.2):
    """Poll ``predicate`` until it returns a truthy value or ``timeout_s`` passes; return its last
    value.

    Tests wait for a condition with it, never for a fixed time: a loaded machine only makes them
    slower.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval_s)


@pytest.fixture(name="wait_until")
def _wait_until_fixture():
    """The :func:`wait_until` helper."""
    return wait_until
