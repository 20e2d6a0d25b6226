import subprocess
import sys
import textwrap

import pytest

import verifiers
from verifiers import (
    BaseVerifier,
    DuplicateVerifierError,
    InvalidSpecError,
    Outcome,
    UnknownVerifierError,
    UnknownVersionError,
    register,
    registry,
    unregister,
)


def _make(name, version):
    return type(
        f"V_{name}_{version}",
        (BaseVerifier,),
        {
            "name": name,
            "version": version,
            "description": f"{name} v{version}",
            "check": lambda self, r, ref: Outcome.passed(v=version),
        },
    )


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("math", ("math", None)),
        ("math@1", ("math", 1)),
        ("json_schema@12", ("json_schema", 12)),
        ("my.plugin-x@3", ("my.plugin-x", 3)),
    ],
)
def test_parse_spec(spec, expected):
    assert registry.parse_spec(spec) == expected
    if expected[1] is not None:
        assert registry.format_spec(*expected) == spec


@pytest.mark.parametrize("spec", ["", "@1", "math@", "math@x", "math@1@2", "1math", None])
def test_bad_spec_raises(spec):
    with pytest.raises(InvalidSpecError, match="expected 'name' or 'name@version'"):
        registry.parse_spec(spec)


def test_latest_and_exact_versions():
    v1, v2 = _make("reg_demo", 1), _make("reg_demo", 2)
    register(v1)
    register(v2)
    try:
        assert verifiers.get("reg_demo").version == 2
        assert verifiers.get("reg_demo@1").version == 1
        assert verifiers.resolve("reg_demo") == "reg_demo@2"
        info = {i.name: i for i in verifiers.available()}["reg_demo"]
        assert info.versions == (1, 2) and info.description == "reg_demo v2"
    finally:
        unregister("reg_demo@1")
        unregister("reg_demo@2")


def test_unknown_name_suggests_close_match():
    register(_make("reg_close", 1))
    try:
        with pytest.raises(UnknownVerifierError, match="Did you mean 'reg_close'"):
            verifiers.get("reg_clse")
    finally:
        unregister("reg_close@1")


def test_an_unknown_name_in_the_wrong_case_still_gets_a_suggestion():
    with pytest.raises(verifiers.UnknownVerifierError, match="Did you mean 'json_schema'"):
        verifiers.get("JSON_SCHEMA@1")


def test_unknown_version_lists_existing():
    register(_make("reg_ver", 1))
    try:
        with pytest.raises(
            UnknownVersionError, match=r"reg_ver@9 is not registered; available: reg_ver@1"
        ):
            verifiers.get("reg_ver@9")
    finally:
        unregister("reg_ver@1")


def test_duplicate_registration_raises():
    register(_make("reg_dup", 1))
    try:
        with pytest.raises(DuplicateVerifierError, match="reg_dup@1 is already registered"):
            register(_make("reg_dup", 1))
    finally:
        unregister("reg_dup@1")


@pytest.mark.parametrize(
    "attrs,match",
    [
        ({"name": "", "version": 1}, "non-empty class attribute 'name'"),
        ({"name": "x", "version": 0}, "must be a positive int"),
        ({"name": "x", "version": True}, "must be a positive int"),
    ],
)
def test_bad_class_attributes(attrs, match):
    with pytest.raises(InvalidSpecError, match=match):
        register(type("Bad", (BaseVerifier,), attrs))


def test_import_resolves_to_this_repository():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    for module in ("verifiers", "envs", "sandbox", "rl"):
        mod = __import__(module)
        assert pathlib.Path(mod.__file__).resolve().parent == root / module, mod.__file__
    assert not (root / "datasets" / "__init__.py").exists()


def test_plugin_registers_through_entry_point(tmp_path):
    """Install a tiny plugin distribution into a target dir and load it through entry points."""
    pkg = tmp_path / "src"
    (pkg / "rlvr_demo_plugin").mkdir(parents=True)
    (pkg / "rlvr_demo_plugin" / "__init__.py").write_text(
        textwrap.dedent('''
        from verifiers import BaseVerifier, Outcome

        class Shout(BaseVerifier):
            """Passes upper-case responses. Versions: 1 - first version."""
            name, version, description = "demo_shout", 1, "upper-case check"

            def check(self, response, reference):
                return Outcome.passed() if response.isupper() else Outcome.failed("not_upper")
    ''')
    )
    (pkg / "pyproject.toml").write_text(
        textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "rlvr-demo-plugin"
        version = "0.0.1"
        [project.entry-points."rlvr.verifiers"]
        shout = "rlvr_demo_plugin:Shout"
    ''')
    )
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(pkg),
        ],
        check=True,
    )
    code = textwrap.dedent(f'''
        import sys; sys.path.insert(0, {str(target)!r})
        import verifiers
        v = verifiers.get("demo_shout")
        print(v.verify("HELLO", {{}}).status.value, v.verify("hello", {{}}).status.value,
              [i.name for i in verifiers.available()].count("demo_shout"))
    ''')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["pass", "fail", "1"]
