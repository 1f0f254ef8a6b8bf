"""The one error contract: every error body is ``{message, code, errors?, request_id}``."""

from __future__ import annotations

import enum
import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, JsonResponse
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ErrorCode(enum.StrEnum):
    """The ``code`` of every error body the API writes (clients switch on these strings)."""

    BAD_REQUEST = "BAD_REQUEST"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    PARSE_ERROR = "PARSE_ERROR"
    INVALID_PAGINATION = "INVALID_PAGINATION"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    CONFLICT = "CONFLICT"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    UNPROCESSABLE = "UNPROCESSABLE"
    RATE_LIMITED = "RATE_LIMITED"
    SERVER_ERROR = "SERVER_ERROR"
    ERROR = "ERROR"


class ApplicationError(Exception):
    """A domain rule was broken; services raise it, the handler renders it."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code: str = ErrorCode.BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        errors: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        if status_code is not None:
            self.status_code = status_code
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers or {}


class FieldInvalid(ApplicationError):
    """One input field (body or query parameter) has a value the API cannot use: a 400 whose
    ``errors`` name the field, rendered like a serializer's validation error."""

    default_code = ErrorCode.VALIDATION_ERROR

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {message}", code=code, errors={field: [message]})
        self.field = field
        self.reason = message


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = ErrorCode.CONFLICT


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = ErrorCode.NOT_FOUND


class RateLimitedError(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = ErrorCode.RATE_LIMITED


DEFAULT_MESSAGES = {
    400: "The request is invalid.",
    401: "Authentication is required.",
    403: "You do not have permission to do this.",
    404: "Not found.",
    405: "Method not allowed.",
    406: "Not acceptable.",
    409: "Conflict.",
    413: "The request body is too large.",
    415: "Unsupported media type.",
    422: "Unprocessable request.",
    429: "Too many requests. Try again later.",
    500: "Internal server error.",
}


def error_body(
    request: HttpRequest | None,
    *,
    status_code: int,
    message: str | None = None,
    code: str | None = None,
    errors: Any = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message": message or DEFAULT_MESSAGES.get(status_code, "Error."),
        "code": code or _code_for_status(status_code),
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    body["request_id"] = getattr(request, "request_id", None)
    return body


def json_error(request: HttpRequest | None, status_code: int, **kwargs: Any) -> JsonResponse:
    return JsonResponse(error_body(request, status_code=status_code, **kwargs), status=status_code)


STATUS_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    406: ErrorCode.NOT_ACCEPTABLE,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.UNPROCESSABLE,
    429: ErrorCode.RATE_LIMITED,
}


def _code_for_status(status_code: int) -> str:
    return STATUS_CODES.get(status_code, ErrorCode.SERVER_ERROR if status_code >= 500 else ErrorCode.ERROR)


def _first_message(errors: Any, prefix: str = "") -> str | None:
    """The first leaf message, prefixed by its field path, for the UI's one-line display."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            label = prefix if key == "non_field_errors" else (f"{prefix}.{key}" if prefix else str(key))
            found = _first_message(value, label)
            if found:
                return found
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            label = f"{prefix}[{index}]" if isinstance(value, (dict, list)) else prefix
            found = _first_message(value, label)
            if found:
                return found
    elif errors is not None:
        return f"{prefix}: {errors}" if prefix else str(errors)
    return None


# A 429 that names no wait of its own gets this one (JsonErrorMiddleware adds it).
RETRY_AFTER_DEFAULT_SECONDS = 60


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    if isinstance(exc, ApplicationError):
        body = error_body(
            request,
            status_code=exc.status_code,
            message=exc.message,
            code=exc.code,
            errors=exc.errors,
            extra=exc.extra,
        )
        return Response(body, status=exc.status_code, headers=exc.headers)
    if isinstance(exc, Ratelimited):
        return Response(error_body(request, status_code=429), status=429)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(request, status_code=413), status=413)
    if isinstance(exc, IntegrityError):
        # A row the request referenced was deleted (or a unique value taken) by a concurrent
        # request between validation and commit: a conflict the client can retry, not a crash.
        logger.warning("integrity conflict on %s: %s", getattr(request, "path", "?"), exc)
        message = "The request conflicts with a concurrent change. Retry it."
        return Response(error_body(request, status_code=409, message=message, code=ErrorCode.CONFLICT), status=409)
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's handler500 (JSON) takes it, with the traceback logged

    status_code = response.status_code
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = _first_message(errors) or DEFAULT_MESSAGES[400]
        body = error_body(
            request, status_code=status_code, message=message, code=ErrorCode.VALIDATION_ERROR, errors=errors
        )
    else:
        detail = getattr(exc, "detail", None)
        code = None
        message = None
        if isinstance(detail, dict):
            message = str(detail.get("message") or detail.get("detail") or "") or None
            code = detail.get("code")
        elif detail is not None:
            message = str(detail)
            code = getattr(detail, "code", None)
        if isinstance(exc, exceptions.NotAuthenticated):
            code = ErrorCode.NOT_AUTHENTICATED
        elif isinstance(exc, exceptions.Throttled):
            code = ErrorCode.RATE_LIMITED
            message = DEFAULT_MESSAGES[429]
        elif isinstance(exc, exceptions.ParseError):
            code = ErrorCode.PARSE_ERROR
            message = "Malformed JSON body: " + (message or "")
        body = error_body(
            request,
            status_code=status_code,
            message=message,
            code=str(code).upper() if code else None,
        )
    response.data = body
    return response
