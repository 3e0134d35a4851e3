"""A tiny JSON-schema checker for the keywords the payload schemas use (no dependency).

Supported: type, const, enum, required, properties, additionalProperties (false),
items, minLength, maxLength, pattern, and ``maxBytes`` (UTF-8 length, for limits
documented in bytes). An unknown keyword is an error, so a schema cannot silently
ask for a check this helper does not make.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent / "schemas"
_ANNOTATIONS = {"$schema", "title", "description"}
_KEYWORDS = {"type", "const", "enum", "required", "properties", "additionalProperties", "items",
             "minLength", "maxLength", "pattern", "maxBytes"} | _ANNOTATIONS
_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}


def load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def problems(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema``; empty when it conforms."""
    unknown = set(schema) - _KEYWORDS
    if unknown:
        raise ValueError(f"{path}: schema keyword(s) {sorted(unknown)} not supported by this checker")
    found: list[str] = []
    if "type" in schema:
        expected = _TYPES[schema["type"]]
        is_bool = isinstance(value, bool)
        if not isinstance(value, expected) or (is_bool and schema["type"] in ("integer", "number")):
            return [f"{path}: must be of type {schema['type']}, got {type(value).__name__}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: must be {schema['const']!r}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: must be one of {schema['enum']!r}, got {value!r}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            found.append(f"{path}: must have at least {schema['minLength']} characters, got {len(value)}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{path}: must have at most {schema['maxLength']} characters, got {len(value)}")
        if "maxBytes" in schema and len(value.encode("utf-8")) > schema["maxBytes"]:
            found.append(f"{path}: must be at most {schema['maxBytes']} UTF-8 bytes, "
                         f"got {len(value.encode('utf-8'))}")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            found.append(f"{path}: must match {schema['pattern']!r}, got {value!r}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                found.append(f"{path}: is missing the required key {key!r}")
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                found += problems(item, properties[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{path}: has the key {key!r}, which the format does not define")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += problems(item, schema["items"], f"{path}[{i}]")
    return found
