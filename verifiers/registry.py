"""Versioned verifier registry: ``name@version`` -> verifier class.

Verifiers register with an integer behaviour version; old versions stay registered next to new
ones so a training run can always be re-graded exactly. ``get("math")`` gives the latest
version, ``get("math@1")`` that exact one.

>>> from verifiers import registry
>>> registry.parse_spec("json_schema@1")
('json_schema', 1)
>>> registry.parse_spec("json_schema")
('json_schema', None)
>>> registry.format_spec("json_schema", 1)
'json_schema@1'

Third-party packages add verifiers through the entry-point group ``rlvr.verifiers``; the entry
point may name a verifier class, a module (importing it registers its verifiers), or a callable
returning an iterable of classes.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import re
import threading
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable, TypeVar

from .errors import (
    DuplicateVerifierError,
    InvalidSpecError,
    UnknownVerifierError,
    UnknownVersionError,
    VerifierError,
)

ENTRY_POINT_GROUP = "rlvr.verifiers"

#: Built-in verifier modules, imported on first use of the registry.
BUILTIN_MODULES = (
    "verifiers.json_schema",
    "verifiers.xml_schema",
    "verifiers.math",
    "verifiers.code",
    "verifiers.tool_call",
)

_SPEC_RE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*?)(?:@(?P<version>[0-9]+))?$")

_lock = threading.RLock()
_classes: dict[str, dict[int, type]] = {}
_instances: dict[tuple[str, int], Any] = {}
# spec string exactly as asked for -> instance; cleared on any (un)registration
_by_spec: dict[str, Any] = {}
_loaded = False

T = TypeVar("T", bound=type)


@dataclass(frozen=True)
class VerifierInfo:
    """One registered name with its versions, as listed by ``rlvr verifiers``."""

    name: str
    versions: tuple[int, ...]
    description: str

    @property
    def latest(self) -> int:
        return self.versions[-1]


def parse_spec(spec: str) -> tuple[str, int | None]:
    """Split ``"name@version"`` into ``(name, version)``; the version is ``None`` when absent."""
    match = _SPEC_RE.match(spec.strip()) if isinstance(spec, str) else None
    if match is None:
        raise InvalidSpecError(
            f"invalid verifier spec {spec!r}: expected 'name' or 'name@version', e.g. 'math@1'"
        )
    version = match.group("version")
    return match.group("name"), None if version is None else int(version)


def format_spec(name: str, version: int) -> str:
    """Inverse of :func:`parse_spec`."""
    return f"{name}@{version}"


def register(cls: T | None = None, *, replace: bool = False) -> T | Callable[[T], T]:
    """Register a verifier class under its ``name`` and ``version`` attributes.

    Usable as ``@register`` or ``register(MyVerifier)``. Registering the same ``name@version``
    twice raises :class:`DuplicateVerifierError` unless ``replace=True`` (for tests and notebooks).
    """

    def _do(klass: T) -> T:
        name, version = _validate_class(klass)
        with _lock:
            versions = _classes.setdefault(name, {})
            existing = versions.get(version)
            if existing is not None and existing is not klass and not replace:
                raise DuplicateVerifierError(
                    f"{name}@{version} is already registered by {_qualname(existing)}; "
                    f"give {_qualname(klass)} a new version number, or pass replace=True"
                )
            versions[version] = klass
            _instances.pop((name, version), None)
            _by_spec.clear()
        return klass

    return _do if cls is None else _do(cls)


def unregister(spec: str) -> None:
    """Remove ``name@version`` (mainly for tests). Unknown specs raise as in :func:`get_class`."""
    name, version = _resolve(spec)
    with _lock:
        del _classes[name][version]
        if not _classes[name]:
            del _classes[name]
        _instances.pop((name, version), None)
        _by_spec.clear()


def get_class(spec: str) -> type:
    """The verifier class for ``spec`` (latest version when none is given)."""
    name, version = _resolve(spec)
    return _classes[name][version]


def get(spec: str) -> Any:
    """A shared, default-configured instance of the verifier named by ``spec``.

    >>> get("json_schema@1").name
    'json_schema'
    """
    instance = _by_spec.get(spec) if type(spec) is str else None
    if instance is not None:  # the batch grader asks for the same spec for every item
        return instance
    name, version = _resolve(spec)
    with _lock:
        instance = _instances.get((name, version))
        if instance is None:
            instance = _classes[name][version]()
            _instances[(name, version)] = instance
        _by_spec[spec] = instance
        return instance


def resolve(spec: str) -> str:
    """Canonical ``name@version`` for ``spec``: ``resolve("math") == "math@1"`` while 1 is
    latest."""
    return format_spec(*_resolve(spec))


def available() -> list[VerifierInfo]:
    """Every registered verifier, sorted by name, with its versions and latest description."""
    _ensure_loaded()
    with _lock:
        return [
            VerifierInfo(name, tuple(sorted(vs)), _describe(vs[max(vs)]))
            for name, vs in sorted(_classes.items())
        ]


def _resolve(spec: str) -> tuple[str, int]:
    name, version = parse_spec(spec)
    _ensure_loaded()
    with _lock:
        versions = _classes.get(name)
        if not versions:
            raise UnknownVerifierError(_unknown_name_message(name))
        if version is None:
            return name, max(versions)
        if version not in versions:
            listed = ", ".join(format_spec(name, v) for v in sorted(versions))
            raise UnknownVersionError(f"{name}@{version} is not registered; available: {listed}")
        return name, version


def _unknown_name_message(name: str) -> str:
    known = sorted(_classes)
    by_folded = {k.casefold(): k for k in known}  # "JSON_SCHEMA" still finds json_schema
    close = [
        by_folded[c]
        for c in difflib.get_close_matches(name.casefold(), list(by_folded), n=3, cutoff=0.5)
    ]
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    listing = ", ".join(known) if known else "(none)"
    return f"no verifier named {name!r}.{hint} Registered: {listing}"


def _validate_class(klass: type) -> tuple[str, int]:
    name = getattr(klass, "name", None)
    version = getattr(klass, "version", None)
    if not isinstance(name, str) or not name:
        raise InvalidSpecError(f"{_qualname(klass)} needs a non-empty class attribute 'name'")
    parse_spec(name)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidSpecError(
            f"{_qualname(klass)}.version must be a positive int (behaviour version), got "
            f"{version!r}"
        )
    if "@" in name:
        raise InvalidSpecError(f"verifier name {name!r} must not contain '@'")
    return name, version


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        _loaded = True
        for module in BUILTIN_MODULES:
            if importlib.util.find_spec(module) is None:
                continue
            try:
                importlib.import_module(module)
            except Exception as exc:  # name the broken module instead of a bare traceback
                _loaded = False
                raise VerifierError(
                    f"built-in verifier module {module!r} failed to import: {exc!r}"
                ) from exc
        load_entry_points()


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> list[str]:
    """Load verifier plugins from ``group``; returns the entry-point names loaded.

    A plugin that fails to load is reported with a warning and skipped, so one broken
    package cannot take every other verifier down.
    """
    loaded = []
    for ep in entry_points(group=group):
        try:
            _register_plugin_object(ep.load())
        except DuplicateVerifierError:
            raise
        except Exception as exc:  # plugin code is not ours
            warnings.warn(
                f"rlvr: verifier plugin {ep.name!r} ({ep.value}) failed to load: {exc!r}",
                stacklevel=2,
            )
            continue
        loaded.append(ep.name)
    return loaded


def _register_plugin_object(obj: Any) -> None:
    if isinstance(obj, type):
        register(obj)
    elif callable(obj):
        for klass in obj() or ():
            register(klass)
    # a module: importing it has already registered its verifiers


def _describe(klass: type) -> str:
    description = (
        getattr(klass, "description", "") or (klass.__doc__ or "").strip().splitlines()[0:1]
    )
    return description if isinstance(description, str) else (description[0] if description else "")


def _qualname(klass: Any) -> str:
    return f"{getattr(klass, '__module__', '?')}.{getattr(klass, '__qualname__', repr(klass))}"


def _iter_registered() -> Iterable[tuple[str, int, type]]:
    with _lock:
        for name, versions in _classes.items():
            for version, klass in versions.items():
                yield name, version, klass
