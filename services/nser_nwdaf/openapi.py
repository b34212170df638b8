"""The OpenAPI document, made to say what the service really answers: 400 ProblemDetails where
FastAPI would write 422, and the 404 / 500 / 503 ProblemDetails that `problems.py` produces."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from nser_nwdaf.problems import PROBLEM_JSON
from nser_nwdaf.schema_common import ProblemDetails

REF = "#/components/schemas/{model}"
STORE_PREFIXES = ("/nnwdaf-",)


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": REF.format(model="ProblemDetails")}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        problem = ProblemDetails.model_json_schema(ref_template=REF, mode="serialization")
        schemas.update(problem.pop("$defs", {}))
        schemas["ProblemDetails"] = problem
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for path, operations in doc.get("paths", {}).items():
            for op in operations.values():
                responses = op.setdefault("responses", {})
                responses.pop("422", None)
                if op.get("parameters") or op.get("requestBody"):
                    responses.setdefault("400", _problem("Bad request: see invalidParams"))
                if op.get("requestBody"):
                    responses.setdefault("413", _problem("Request body too large"))
                if any(p.get("in") == "query" for p in op.get("parameters", [])):
                    responses.setdefault("414", _problem("Query string too long"))
                if "{subscriptionId}" in path:
                    responses.setdefault("404", _problem("No such subscription"))
                responses.setdefault("500", _problem("Internal error"))
                if path.startswith(STORE_PREFIXES):
                    responses.setdefault("503", _problem("Redis is unavailable"))
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
