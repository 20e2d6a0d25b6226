"""``json_schema``: does the response contain a JSON document valid against a JSON Schema?

``json_schema@2`` (the latest) takes ``{"schema": {...}}``, optionally ``"resources"`` (documents
for remote ``$ref`` s, never fetched), ``"formats"`` (``"assert"`` or ``"annotate"``) and
``"partial_credit": true``; ``json_schema@1`` stays registered, unchanged.

>>> import verifiers
>>> v = verifiers.get("json_schema@1")
>>> v.verify('{"n": 3}', {"schema": {"type": "object", "required": ["n"]}}).status.value
'pass'
>>> schema = {"properties": {"n": {"type": "integer"}}}
>>> v.verify('Sure:\\n```json\\n{"n": "x"}\\n```', {"schema": schema}).details["violations"]
[{'path': '/n', 'schema_path': '/properties/n/type', 'message': "'x' is not of type 'integer'"}]
>>> verifiers.resolve("json_schema")
'json_schema@2'
>>> latest = verifiers.get("json_schema")
>>> latest.verify('"Łódź"', {"schema": {"pattern": "^\\\\p{L}+$"}}).status.value
'pass'
"""

from .verifier import JsonSchemaConfig, JsonSchemaVerifier
from .verifier_v2 import JsonSchemaVerifierV2

__all__ = ["JsonSchemaConfig", "JsonSchemaVerifier", "JsonSchemaVerifierV2"]
