"""Every error leaves as JSON naming what was wrong; nothing leaves as a traceback."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from parley.domain.errors import Conflict, DomainError, Invalid, InvalidState, RateLimited
from parley.telemetry import logs
from parley.telemetry.metrics import count_error

log = logging.getLogger(__name__)

# pydantic's error types, in the words of our API's rules.
_RULES = {
    "missing": "required",
    "string_type": "type",
    "int_type": "type",
    "int_parsing": "type",
    "list_type": "type",
    "bool_type": "type",
    "dict_type": "type",
    "model_type": "type",
    "model_attributes_type": "type",
    "enum": "one_of",
    "literal_error": "one_of",
    "extra_forbidden": "unknown_field",
    "datetime_parsing": "datetime",
    "datetime_type": "datetime",
    "datetime_from_date_parsing": "datetime",
    "json_invalid": "json",
    "float_type": "type",
    "float_parsing": "type",
    "greater_than_equal": "minimum",
    "greater_than": "minimum",
    "less_than_equal": "maximum",
    "less_than": "maximum",
    "string_too_long": "max_length",
    "string_too_short": "min_length",
    "too_long": "max_items",
    # A key of the body that is not Unicode text (a lone surrogate), named like such a value.
    "string_unicode": "surrogate",
}


def _encodable(text: str) -> str:
    """`text` with any lone surrogate written as its escape: what a client sent may come back
    in a message or a field name (an unknown field's key), and must not make the answer itself
    unencodable (a 500, issue 12)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_body(
    code: str, message: str, *, field: str | None = None, rule: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": _encodable(message)}
    if field is not None:
        body["field"] = _encodable(field)
    if rule is not None:
        body["rule"] = rule
    body.update(extra)
    return body


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = []
    for err in exc.errors():
        rule = _RULES.get(err["type"], err["type"])
        # A body that is not JSON at all has no field; pydantic names its character offset.
        field = "body" if rule == "json" else _field_name(tuple(err["loc"]))
        field = _encodable(field)
        errors.append(
            {"field": field, "rule": rule, "message": _encodable(f"{field}: {err['msg']}")}
        )
    first = errors[0] if errors else {"field": "body", "rule": "invalid", "message": "invalid"}
    return JSONResponse(
        error_body(
            "validation_failed",
            first["message"],
            field=first["field"],
            rule=first["rule"],
            errors=errors,
        ),
        status_code=422,
    )


def domain_error_response(exc: DomainError) -> JSONResponse:
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    field = rule = None
    if isinstance(exc, Invalid):
        field, rule = exc.field, exc.rule
        extra["errors"] = [
            {"field": exc.field, "rule": exc.rule, "message": _encodable(exc.message)}
        ]
    elif isinstance(exc, InvalidState):
        extra["state"] = exc.state
    elif isinstance(exc, Conflict):
        field, rule = exc.field, exc.rule
    elif isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    return JSONResponse(
        error_body(exc.code, exc.message, field=field, rule=rule, **extra),
        status_code=exc.status,
        headers=headers,
    )


def _counted(response: JSONResponse, code: str) -> JSONResponse:
    """Counts an error answer by its class of status and its code (parley_errors_total)."""
    count_error(f"http_{response.status_code // 100}xx", code)
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return _counted(domain_error_response(exc), exc.code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _counted(_validation_response(exc), "validation_failed")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            # A body that is not UTF-8 JSON: the same answer as any other body that is not JSON.
            message = "body: not valid JSON text"
            return _counted(
                JSONResponse(
                    error_body(
                        "validation_failed",
                        message,
                        field="body",
                        rule="json",
                        errors=[{"field": "body", "rule": "json", "message": message}],
                    ),
                    status_code=422,
                ),
                "validation_failed",
            )
        codes = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}
        code = codes.get(exc.status_code, "http_error")
        return _counted(
            JSONResponse(
                error_body(code, str(exc.detail)),
                status_code=exc.status_code,
                headers=getattr(exc, "headers", None),
            ),
            code,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        logs.ERROR_LOGGED.set(True)
        count_error("unhandled", type(exc).__name__)
        # Answered outside the request middleware: the request's id is added here.
        request_id = logs.REQUEST_ID.get()
        return JSONResponse(
            error_body("internal_error", "something went wrong on our side"),
            status_code=500,
            headers={"X-Request-ID": request_id} if request_id else None,
        )
