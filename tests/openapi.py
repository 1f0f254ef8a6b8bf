"""Reading the served OpenAPI schema: operations of a route and the fields their bodies accept."""

from __future__ import annotations

import re
from typing import Any

_PARAM = re.compile(r"\{[^}]+\}")


def shape(path: str) -> str:
    """``/api/v1/contacts/{id}`` and ``api/v1/contacts/{pk}`` → ``api/v1/contacts/{}``."""
    return _PARAM.sub("{}", path.strip("/"))


class OpenAPI:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.by_shape = {shape(path): ops for path, ops in document["paths"].items()}

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = self.document["components"]["schemas"][name]
        return node

    def operation(self, path: str, method: str) -> dict[str, Any] | None:
        return self.by_shape.get(shape(path), {}).get(method.lower())

    def body_properties(self, path: str, method: str) -> dict[str, Any]:
        """Fields the JSON request body of that operation accepts (empty when it takes none)."""
        operation = self.operation(path, method) or {}
        content = operation.get("requestBody", {}).get("content", {})
        body = self.resolve(content.get("application/json", {}).get("schema", {}))
        properties: dict[str, Any] = {}
        for part in [body, *[self.resolve(p) for p in body.get("allOf", [])]]:
            for name, prop in (part.get("properties") or {}).items():
                if not self.resolve(prop).get("readOnly"):
                    properties[name] = self.resolve(prop)
        return properties

    def query_parameters(self, path: str, method: str = "get") -> list[str]:
        operation = self.operation(path, method) or {}
        return [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
