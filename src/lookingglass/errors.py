"""One exception hierarchy, mapped once to HTTP status codes and CLI exit codes."""

from __future__ import annotations


class LookingGlassError(Exception):
    """Base of every error we raise on purpose; carries a stable machine-readable code."""

    code = "error"
    http_status = 500
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(LookingGlassError):
    """The caller gave us something we cannot use (corrupt image, wrong type, bad parameter)."""

    code = "bad_input"
    http_status = 400
    exit_code = 2


class TooLarge(BadInput):
    """Input over a configured size or pixel limit (decompression bombs land here)."""

    code = "too_large"
    http_status = 413


class NotFound(LookingGlassError):
    code = "not_found"
    http_status = 404
    exit_code = 3


class Unauthorized(LookingGlassError):
    code = "unauthorized"
    http_status = 401
    exit_code = 4


class Forbidden(LookingGlassError):
    """Who the caller is is known, and their role does not allow this (an analyst on an admin route)."""

    code = "forbidden"
    http_status = 403
    exit_code = 4


class CsrfFailed(Forbidden):
    """A cookie-authenticated change came without this session's CSRF token: possibly another site's form."""

    code = "csrf_failed"


class RateLimited(LookingGlassError):
    """Too many requests of one kind from one principal; `retry_after` seconds until the next is allowed."""

    code = "rate_limited"
    http_status = 429
    exit_code = 8

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExceeded(BadInput):
    """A job went over its time or memory budget (pipeline/queue.py). Like bad bytes, not worth retrying: the same
    object would take the same time and memory again; the object is marked and reconcile leaves it alone."""

    code = "over_budget"
    http_status = 422


class Unavailable(LookingGlassError):
    """A backend (store, index, model file) cannot be reached or opened, or the worker pool is full; `retry_after`
    (seconds), when set, goes out as a Retry-After header."""

    code = "unavailable"
    http_status = 503
    exit_code = 5

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DataDirBusy(Unavailable):
    """Another process owns the embedded data directory (docs/architecture.md)."""

    code = "data_dir_busy"
    exit_code = 6


class ModelIntegrityError(Unavailable):
    """A model file is missing or its SHA-256 does not match the pinned value."""

    code = "model_integrity"
    exit_code = 7


class DeviceUnavailable(Unavailable):
    """The execution device asked for (e.g. "cuda") is not usable here: refused, never run quietly on the CPU."""

    code = "device_unavailable"
    exit_code = 9


class CorruptStore(Unavailable):
    """A store's files fail their integrity check (or the engine cannot read them): refused, never served wrong.

    The message names the file and what to do: restore it, or rebuild it from the object store."""

    code = "corrupt_store"
    exit_code = 5


# Batch commands (ingest, reconcile, crawl) go on past a bad file; their exit code says how the batch went.
PARTIAL_FAILURE_EXIT = 1  # finished, and some files failed (the summary and the per-file errors say which)


def batch_exit_code(succeeded: int, failures: list[int]) -> int:
    """0 when nothing failed; PARTIAL_FAILURE_EXIT when some files failed; when every file failed, the failures'
    own error-class exit code if they share one (2: every file was bad input), else PARTIAL_FAILURE_EXIT."""
    if not failures:
        return 0
    if succeeded or len(set(failures)) > 1:
        return PARTIAL_FAILURE_EXIT
    return failures[0]


def exit_code_of(code: str) -> int:
    """The exit code of the error class whose `code` this is (a failure reported by a worker or by `serve`)."""
    classes = [LookingGlassError]
    while classes:
        cls = classes.pop()
        if cls.code == code:
            return cls.exit_code
        classes.extend(cls.__subclasses__())
    return LookingGlassError.exit_code
