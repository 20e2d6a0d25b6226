"""The ``json_schema`` verifier and its config; see :class:`JsonSchemaVerifier`."""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.validators import SPECIFICATIONS, Draft202012Validator, extend, validator_for
from referencing.exceptions import Unresolvable

from .._compiled import CompiledCache
from .._extract import fenced_blocks, pick_block
from ..base import BaseVerifier, Outcome
from ..errors import BadReferenceError
from ..hashing import stable_hash
from ..registry import register
from . import _keywords
from ._keywords import BadPattern, RegexBudgetExceeded, regex_budget
from ._load import Rejected, load_json

REFERENCE_KEYS = frozenset({"schema", "partial_credit"})

#: Failures while resolving or matching, turned into a verdict
#: by :meth:`JsonSchemaVerifier._ungradable`.
_UNGRADABLE = (RegexBudgetExceeded, BadPattern, Unresolvable)


@dataclass(frozen=True)
class JsonSchemaConfig:
    """Bounds that keep ``json_schema`` fast and safe on hostile responses.

    >>> JsonSchemaConfig(max_depth=32).max_depth
    32
    """

    max_response_chars: int = 1_000_000
    """Longest text (whole response or fenced block) that is parsed; longer is ``unparseable``.
    Responses longer than four times this are not searched for fenced blocks either."""
    max_depth: int = 128
    """Deepest array/object nesting accepted; deeper is ``unparseable`` (code ``too_deep``)."""
    max_number_chars: int = 1000
    """Longest number literal accepted; longer is ``unparseable`` (code ``number_too_large``)."""
    regex_budget_s: float = 1.0
    """Seconds all ``pattern`` matching in one check may take before the verdict is ``timeout``."""
    max_violations: int = 100
    """Most violations listed in ``details`` (all are counted in ``violation_count``)."""
    max_message_chars: int = 300
    """Longest violation message kept in ``details`` (longer ones keep their start and end)."""
    cache_size: int = 256
    """Compiled validators kept, keyed by the schema's hash."""

    def __post_init__(self) -> None:
        for name in (
            "max_response_chars",
            "max_depth",
            "max_number_chars",
            "max_violations",
            "max_message_chars",
            "cache_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"JsonSchemaConfig.{name} must be a positive int, got {value!r}")
        if not self.regex_budget_s > 0:
            raise ValueError(
                f"JsonSchemaConfig.regex_budget_s must be > 0 seconds, got {self.regex_budget_s!r}"
            )


class _SchemaProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class _Reference:
    """A checked reference: what one test case asks for (fields after ``partial_credit`` are
    @2's)."""

    schema: Any
    partial_credit: bool = False
    resources: Mapping[str, Any] = field(default_factory=dict)
    formats: str = "assert"


@register
class JsonSchemaVerifier(BaseVerifier):
    """Validate the JSON in a response against ``reference["schema"]`` with ``jsonschema``.

    Extraction: the whole response (stripped) is parsed as JSON first; if that fails, the
    first fenced block tagged ``json`` (else the first untagged fenced block) is parsed instead
    (see :mod:`verifiers._extract`); responses over four times ``max_response_chars`` are not
    searched. Nothing found or nothing parseable is ``unparseable``; so
    are ``NaN``/``Infinity`` (not JSON), number literals longer than ``max_number_chars``,
    floats that overflow, nesting deeper than ``max_depth`` and texts longer than
    ``max_response_chars`` (:mod:`verifiers.json_schema._load` lists the codes). Duplicate
    object keys keep the last value, as :func:`json.loads` does.

    Validation: the dialect comes from ``$schema`` (draft 3 to 2020-12; default 2020-12; an
    unknown ``$schema`` is an ``error``). The schema is checked against its metaschema first: a
    bad schema is an ``error`` (``bad_schema``), never a ``fail``. Formats are checked with the
    dialect's format checker (which formats depends on the installed extras of ``jsonschema``).
    ``$ref`` resolves only inside the schema and the bundled metaschemas: nothing is ever
    fetched, and an unresolvable ref is an ``error`` (``unresolvable_ref``). ``pattern`` and
    ``patternProperties`` use the :mod:`regex` module under a shared time budget
    (``regex_budget_s``); running out is a ``timeout`` verdict. ``uniqueItems`` is checked in
    linear time.

    Verdict: ``pass`` (score 1) when valid; else ``fail`` with code ``schema_violation``, every
    violation in ``details["violations"]`` (instance JSON pointer, schema pointer, message;
    sorted, at most ``max_violations``) and their number in ``details["violation_count"]``.
    Score 0, unless ``"partial_credit": true``: then score and pass rate are the fraction of
    the schema's top-level ``required`` properties that are present and valid against their
    ``properties`` subschema (the schema must have a non-empty ``required`` list).

    Versions: 1 - first version.
    """

    name = "json_schema"
    version = 1
    description = "JSON (raw or in a fenced block) validated against a JSON Schema"
    reference_keys: ClassVar[frozenset[str]] = REFERENCE_KEYS
    #: Reward-hacking probes of :func:`verifiers.check_verifier` that do not apply (listed as waived
    #: in its report).
    probe_waivers: ClassVar[Mapping[str, str]] = {
        "format_only": "the reference is a schema, not an answer: '{}' or '[]' is a correct "
        "response whenever the schema requires nothing more",
        "lookalike": "the reference is a schema, not an answer: a string of look-alike letters is "
        "a valid string wherever the schema does not constrain its characters (keys and enum "
        "values it does constrain still fail)",
    }

    def __init__(self, config: JsonSchemaConfig | None = None) -> None:
        self.config = config or JsonSchemaConfig()
        self._compiled = CompiledCache(self.config.cache_size)

    def test_case_hash(self, reference: Mapping[str, Any]) -> str:
        """``stable_hash(reference)``, computed with the C JSON encoder when the reference is plain
        JSON."""
        text = _canonical_text(reference)
        return stable_hash(reference) if text is None else stable_hash(text)

    def check(self, response: str, reference: Mapping[str, Any]) -> Outcome:
        ref = self._read_reference(reference)
        try:
            validator = self._validator(ref)
        except _SchemaProblem as problem:
            return Outcome.error(problem.code, problem.message)
        # only versions whose schema check matches patterns or resolves refs
        except _UNGRADABLE as exc:
            return self._ungradable(exc)
        try:
            instance, source = self._extract(response)
        except Rejected as rejected:
            return Outcome.unparseable(rejected.code, rejected.message)
        try:
            with regex_budget(self.config.regex_budget_s):
                return self._judge(validator, instance, source, ref.partial_credit)
        except _UNGRADABLE as exc:
            return self._ungradable(exc)

    def _ungradable(self, exc: Exception) -> Outcome:
        """The verdict when a schema cannot be applied: matching ran out of time, a bad pattern, a
        dangling ref."""
        if isinstance(exc, RegexBudgetExceeded):
            return Outcome.timeout(str(exc), code="regex_timeout")
        if isinstance(exc, BadPattern):
            return Outcome.error("bad_schema", str(exc))
        return Outcome.error("unresolvable_ref", self._unresolvable_message(exc))

    def _unresolvable_message(self, exc: Exception) -> str:
        return (
            "$ref could not be resolved inside the schema "
            f"(remote references are never fetched): {str(exc)[:200]}"
        )

    # -- the reference ------------------------------------------------------------------

    def _read_reference(self, reference: Mapping[str, Any]) -> _Reference:
        """The checked reference, or :class:`BadReferenceError` naming the fix."""
        unknown = sorted(set(reference) - self.reference_keys)
        if unknown:
            raise BadReferenceError(
                f"unknown reference key(s) {unknown}; {self.name}@{self.version} "
                f"takes {sorted(self.reference_keys)}"
            )
        return _Reference(*_read_schema(reference))

    # -- extraction ------------------------------------------------------------------

    def _extract(self, response: str) -> tuple[Any, str]:
        """``(instance, "raw" | "fenced")`` or :class:`Rejected`."""
        text = response.strip()
        if not text:
            raise Rejected("empty_response", "the response is empty")
        try:
            return self._load(text), "raw"
        except Rejected as whole_failed:
            if len(text) > self.config.max_response_chars * 4:
                raise
            block = pick_block(fenced_blocks(text), ("json", "jsonc", "json5"))
            if block is None:
                if whole_failed.code == "invalid_json":
                    raise Rejected(
                        "invalid_json",
                        "the response is not JSON and has no fenced "
                        f"```json block ({whole_failed.message})",
                    ) from None
                raise
            return self._load(block.text.strip()), "fenced"

    def _load(self, text: str) -> Any:
        cfg = self.config
        return load_json(
            text,
            max_response_chars=cfg.max_response_chars,
            max_depth=cfg.max_depth,
            max_number_chars=cfg.max_number_chars,
        )

    # -- validation ------------------------------------------------------------------

    def _judge(self, validator: Any, instance: Any, source: str, partial: bool) -> Outcome:
        count, worst = self._violations(validator, instance)
        if count == 0:
            return Outcome.passed(extracted=source)
        details = {"extracted": source, "violation_count": count, "violations": worst}
        message = (
            f"{count} schema violation{'s' if count != 1 else ''}; first: {worst[0]['message']}"
        )
        if not partial:
            return Outcome.failed("schema_violation", message, **details)
        credit = _required_credit(validator, instance)
        return Outcome.failed(
            "schema_violation", message, score=credit, pass_rate=credit, **details
        )

    def _violations(self, validator: Any, instance: Any) -> tuple[int, list[dict[str, str]]]:
        count = 0

        def rows():
            nonlocal count
            for error in validator.iter_errors(instance):
                count += 1
                yield self._row(error)

        worst = heapq.nsmallest(
            self.config.max_violations,
            rows(),
            key=lambda r: (r["path"], r["schema_path"], r["message"]),
        )
        return count, worst

    def _row(self, error: ValidationError) -> dict[str, str]:
        return {
            "path": _pointer(error.absolute_path),
            "schema_path": _pointer(error.absolute_schema_path),
            "message": _cut_middle(error.message, self.config.max_message_chars),
        }

    # -- schema compilation (cached) -------------------------------------------------------

    def _validator(self, ref: _Reference) -> Any:
        key = self._cache_key(ref)
        return self._compiled.get_or_compile(key, lambda: self._compile(ref), _SchemaProblem)

    def _cache_key(self, ref: _Reference) -> str:
        return _canonical_text(ref.schema) or stable_hash(ref.schema)

    def _compile(self, ref: _Reference) -> Any:
        """A validator for the reference's schema, or :class:`_SchemaProblem`."""
        return _compile(ref.schema)


def _cut_middle(message: str, limit: int) -> str:
    """Shorten ``message`` to about ``limit`` characters, keeping its start and its end.

    Messages quote the instance first and say what is wrong last ("'xxxx...' is not a 'regex'").
    """
    if len(message) <= limit:
        return message
    tail = limit // 3
    return message[: limit - tail] + " ... " + message[-tail:]


def _canonical_text(value: Any) -> str | None:
    """Canonical JSON text of ``value`` from the C encoder, or ``None`` if it is not plain JSON.

    For JSON data (string keys, finite numbers) this is exactly
    :func:`verifiers.hashing.canonical_json`, several times faster; NaN or objects JSON cannot hold
    give ``None`` (callers fall back to :func:`~verifiers.hashing.stable_hash`). Non-string keys are
    spelled as ``json.dumps`` spells them.
    """
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError):
        return None


def _read_schema(reference: Mapping[str, Any]) -> tuple[Any, bool]:
    """``(schema, partial_credit)`` from a reference whose keys are known to be allowed."""
    if "schema" not in reference:
        raise BadReferenceError(
            'reference needs "schema": a JSON Schema object, e.g. {"schema": {"type": "object"}}'
        )
    schema, partial = reference["schema"], reference.get("partial_credit", False)
    if not isinstance(schema, (dict, bool)):
        raise BadReferenceError(
            f'"schema" must be a JSON object or boolean, got {type(schema).__name__}'
        )
    if not isinstance(partial, bool):
        raise BadReferenceError(f'"partial_credit" must be true or false, got {partial!r}')
    if partial and not _required_names(schema):
        raise BadReferenceError(
            '"partial_credit" needs the schema to have a non-empty top-level "required" list'
        )
    return schema, partial


def _required_names(schema: Any) -> list[str]:
    required = schema.get("required") if isinstance(schema, dict) else None
    if not isinstance(required, list):
        return []
    return [name for name in required if isinstance(name, str)]


def _required_credit(validator: Any, instance: Any) -> float:
    """Fraction of top-level required properties present in ``instance`` and valid."""
    names = _required_names(validator.schema)
    if not isinstance(instance, dict):
        return 0.0
    properties = validator.schema.get("properties", {})
    good = 0
    for name in names:
        if name not in instance:
            continue
        sub = properties.get(name, True) if isinstance(properties, dict) else True
        if next(validator.descend(instance[name], sub, path=name), None) is None:
            good += 1
    return good / len(names)


_BOUNDED_CLASSES: dict[type, tuple[type, Any]] = {}


def _compile(schema: Any) -> Any:
    """A validator for ``schema`` with bounded keywords, no remote refs, formats checked."""
    cls = _dialect(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = _pointer(exc.absolute_path) or "/"
        raise _SchemaProblem(
            "bad_schema",
            f"the schema is not a valid {cls.__name__[:-9]} schema at {where}: {exc.message[:300]}",
        ) from None
    except RecursionError:
        raise _SchemaProblem("bad_schema", "the schema nests too deeply to be checked") from None
    bounded = _BOUNDED_CLASSES.get(cls)
    if bounded is None:
        bounded = _BOUNDED_CLASSES[cls] = (
            extend(cls, _keywords.BOUNDED_KEYWORDS),
            _keywords.format_checker(cls.FORMAT_CHECKER),
        )
    validator_class, checker = bounded
    return validator_class(schema, registry=SPECIFICATIONS, format_checker=checker)


def _dialect(schema: Any) -> type:
    if not isinstance(schema, dict) or "$schema" not in schema:
        return Draft202012Validator
    uri = schema["$schema"]
    cls = validator_for(schema, default=None) if isinstance(uri, str) else None
    if cls is None:
        raise _SchemaProblem(
            "unknown_schema_dialect",
            f"$schema {str(uri)[:200]!r} is not a known JSON Schema dialect; "
            "use draft-04, -06, -07, 2019-09 or 2020-12 (or leave $schema out for 2020-12)",
        )
    return cls


def _pointer(parts: Any) -> str:
    """RFC 6901 JSON pointer for a path of keys and indices ("" is the whole document)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
