"""The JSON Schema of flow files, generated from the models (for editor autocompletion)."""

from __future__ import annotations

from typing import Any

from flows.model import Flow

SCHEMA_ID = "https://cxbot.dev/schema/flow.json"


def json_schema() -> dict[str, Any]:
    """The flow language as JSON Schema (draft 2020-12), with every field's description."""
    schema = Flow.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "cxbot flow"
    return schema
