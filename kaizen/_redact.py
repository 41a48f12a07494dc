"""The one place that hides credentials in text kaizen shows (reprs, error messages, log
lines). Connection strings travel into errors by many routes (our own messages, a driver's
message quoting the DSN, a caller's bad URL echoed back), so every such text goes through
`redact()` rather than each site remembering which part is secret."""

from __future__ import annotations

import re

REDACTED = "***"

# scheme://user:password@host -- the password may itself hold '@' (unescaped), so it runs
# to the last '@' before the host part.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s'\"]*):[^\s'\"/?#]*@")
# password=... in a libpq key=value DSN or a URL query (?password=...&...).
_KEY_PASSWORD = re.compile(
    r"(?P<head>(?i:password|passwd|pwd)=)(?P<value>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&;,)'\"]+)"
)
_MIN_BARE_SECRET = 4  # shorter known secrets are hidden only where a URL/key marks them


def redact(text: str, *secrets: str | None) -> str:
    """`text` with the password of every URL and `password=` pair replaced by `***`, and
    each known secret (at least 4 characters, so a short one cannot garble the message)
    wherever else it appears."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_BARE_SECRET:
            text = text.replace(secret, REDACTED)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{REDACTED}@", text)
    return _KEY_PASSWORD.sub(lambda m: f"{m.group('head')}{REDACTED}", text)


def redact_repr(value: object) -> str:
    """`repr(value)` with credentials hidden, for messages that echo a bad argument."""
    return redact(repr(value))


def safe_cause(exc: BaseException) -> BaseException | None:
    """`exc` to chain with `raise ... from`, or None when its own text shows a credential,
    because a traceback prints the chained cause in full."""
    text = str(exc)
    return exc if redact(text) == text else None
