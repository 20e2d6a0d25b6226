"""``json_schema@1``: does the response contain a JSON document valid against a JSON Schema?

Reference: ``{"schema": {...}}``, optionally ``"partial_credit": true``.

>>> import verifiers
>>> v = verifiers.get("json_schema@1")
>>> v.verify('{"n": 3}', {"schema": {"type": "object", "required": ["n"]}}).status.value
'pass'
>>> v.verify('Sure:\\n```json\\n{"n": "x"}\\n```', {"schema": {"properties": {"n": {"type": "integer"}}}}).details["violations"]
[{'path': '/n', 'schema_path': '/properties/n/type', 'message': "'x' is not of type 'integer'"}]
"""

from .verifier import JsonSchemaConfig, JsonSchemaVerifier

__all__ = ["JsonSchemaConfig", "JsonSchemaVerifier"]
