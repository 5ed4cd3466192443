"""Errors the domain rules raise; the API maps each to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule violation. `code` is the stable machine-readable name."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    """The actor may not do this (who)."""

    status = 403
    code = "forbidden"


class Removed(Forbidden):
    code = "removed"


class Blocked(Forbidden):
    code = "blocked"


class BadSdp(DomainError):
    """A WebRTC offer that cannot be answered (RFC 9725 section 4.2: 400)."""

    status = 400
    code = "bad_sdp"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class InvalidState(DomainError):
    """Not now: the thing is in a state where the action is not allowed (when)."""

    status = 409
    code = "invalid_state"

    def __init__(self, message: str, *, state: str) -> None:
        super().__init__(message)
        self.state = state


class Conflict(DomainError):
    """A uniqueness or capacity rule: handle taken, stage full, pins full."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, *, rule: str, field: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.field = field


class Invalid(DomainError):
    """What was sent breaks a rule (what). Names the field and the rule."""

    status = 422
    code = "validation_failed"

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.rule = rule
        self.detail = message


class TooLarge(Invalid):
    """What was sent is larger than the rule allows (413), named like any invalid field."""

    status = 413
    code = "too_large"


class UnsupportedType(Invalid):
    """What was sent is of a type the endpoint does not take (415), naming the field (a header)
    and the rule, unlike the bare `UnsupportedMediaType` of the WHIP/WHEP endpoints."""

    status = 415
    code = "unsupported_media_type"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AtCapacity(DomainError):
    """This node takes no more of something now (WebRTC listeners): go elsewhere (HLS)."""

    status = 503
    code = "capacity"


class Suspended(Forbidden):
    """The account is suspended by the instance's moderators (until a time, or for good)."""

    code = "suspended"


class PendingApproval(Forbidden):
    """The account waits for an admin's approval (the instance's sign-up mode "approval")."""

    code = "pending_approval"
