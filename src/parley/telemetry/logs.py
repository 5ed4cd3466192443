"""Log setup for `parley serve`, and the context every log line of a request carries.

`PARLEY_LOG_FORMAT=json` writes one JSON object per line (python-json-logger) with time, level,
logger and message, plus `request_id`, `space_id` and `user_id` when the line was logged while
serving a request that has them. The context lives in contextvars, set by the request middleware
(api/telemetry.py), the app's path dependency and `authenticate` (api/auth.py), so every
coroutine of the request sees it, and uvicorn's access line too (logged from inside the app's
`send`). Plain text stays the default.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any, Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("parley_request_id", default=None)
SPACE_ID: ContextVar[int | None] = ContextVar("parley_space_id", default=None)
USER_ID: ContextVar[int | None] = ContextVar("parley_user_id", default=None)
# The app's error handler logged this request's unhandled exception, with its context: the
# server's own copy of the same traceback ("Exception in ASGI application") is left out.
ERROR_LOGGED: ContextVar[bool] = ContextVar("parley_error_logged", default=False)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class ContextFilter(logging.Filter):
    """Adds the request's context to each record (on the handler: records of every logger pass
    through it, where a logger's own filter would miss those of its children)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in (("request_id", REQUEST_ID), ("space_id", SPACE_ID), ("user_id", USER_ID)):
            value = var.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


class LoggedOnce(logging.Filter):
    """Drops uvicorn's traceback of an exception the app's handler already logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "uvicorn.error" and record.exc_info and ERROR_LOGGED.get())


# Loggers whose INFO lines are per-connection chatter (ICE candidate pairs, checks).
QUIET_LOGGERS = ("aioice",)


def json_formatter() -> JsonFormatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        # ISO 8601 in UTC (the record's own time): what log stores parse without a hint.
        timestamp="time",
        json_ensure_ascii=False,
        # uvicorn's copy of its message with terminal colors: noise in a log store.
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )


def configure(log_format: Literal["text", "json"], level: int = logging.INFO) -> None:
    """The root logger's one handler, on stderr. With JSON, uvicorn's loggers (`uvicorn.error`,
    `uvicorn.access`) must propagate to it: run uvicorn with `log_config=None`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(LoggedOnce())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    if log_format == "json":
        handler.setFormatter(json_formatter())
        handler.addFilter(ContextFilter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def uvicorn_log_options(log_format: Literal["text", "json"]) -> dict[str, Any]:
    """uvicorn.run's logging arguments: its own colored text config by default; none with JSON
    (its loggers then propagate to the root's JSON handler)."""
    if log_format == "json":
        return {"log_config": None}
    return {}
