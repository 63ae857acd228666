"""Every error the SDK raises is a KeywardenError; the subclasses say what went wrong, so a caller
can tell an outage (the fail mode applies) from a refusal or a bug in its own call."""

from __future__ import annotations

from typing import Any


class KeywardenError(Exception):
    pass


class KeywardenInputError(KeywardenError, ValueError):
    """A call the SDK refuses before sending it (names the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class KeywardenHttpError(KeywardenError):
    """Keywarden answered with an error status and the envelope {"error":{"code","message"}}."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(f"Keywarden answered {status} {code}: {message}")
        self.status = status
        self.code = code
        self.error_message = message
        self.retry_after = retry_after


class KeywardenTimeoutError(KeywardenError):
    """No answer within the timeout."""

    def __init__(self, timeout: float, url: str) -> None:
        super().__init__(f"Keywarden did not answer within {timeout:g} s ({url})")
        self.timeout = timeout


class KeywardenUnavailableError(KeywardenError):
    """Keywarden could not be reached, or answered 5xx (it is up but cannot decide)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class KeywardenUnsupportedError(KeywardenError):
    """The server does not support what the call asked for (a permission query on a server older than permission strings)."""


class KeywardenGraphQLError(KeywardenError):
    """The admin endpoint answered GraphQL errors; ``code`` is the first error's ``extensions.code``."""

    def __init__(self, errors: list[dict[str, Any]], data: Any, status: int) -> None:
        parts = [f"{e.get('extensions', {}).get('code')}: {e.get('message')}" if e.get("extensions", {}).get("code") else str(e.get("message")) for e in errors]
        super().__init__("; ".join(parts) or f"GraphQL request failed ({status})")
        self.errors = errors
        self.data = data
        self.status = status
        self.code: str | None = next((e["extensions"]["code"] for e in errors if isinstance(e.get("extensions"), dict) and e["extensions"].get("code")), None)


def is_outage(err: BaseException) -> bool:
    """Errors that mean Keywarden could not decide (the fail mode applies), not that it refused."""
    return isinstance(err, (KeywardenTimeoutError, KeywardenUnavailableError))
