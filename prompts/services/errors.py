"""Domain errors. Services raise them with a message written for people; views turn them into HTTP."""


class DomainError(Exception):
    status = 400

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        if status is not None:
            self.status = status
        self.headers = headers or {}


class NotFound(DomainError):
    """Missing, or not the caller's: the same answer, so existence is not leaked."""

    status = 404


class InvalidInput(DomainError):
    status = 400


class TooLarge(DomainError):
    status = 413


class UnsupportedType(DomainError):
    status = 415


class RateLimited(DomainError):
    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = max(1, int(retry_after))


class Conflict(DomainError):
    """The thing is not in a state that allows this (an illegal transition)."""

    status = 409


class ServiceUnavailable(DomainError):
    """An outside service (storage, AI) failed; trying again later may work."""

    status = 503
