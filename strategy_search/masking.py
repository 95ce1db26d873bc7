"""Credentials out of everything the tool logs or prints (no MLflow import, usable anywhere)."""

from __future__ import annotations

import contextvars
import functools
import os
import re

MASK = "***"
# Environment variables whose values are credentials (MLFLOW_TRACKING_PASSWORD, PGPASSWORD,
# AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN, ...): their values are masked wherever they show up.
# Matched on whole name parts, so TOKENIZERS_PARALLELISM is not one; PWD is the working folder.
_SECRET_PARTS = {"PASSWORD", "PASSWD", "PGPASSWORD", "TOKEN", "SECRET", "CREDENTIAL", "CREDENTIALS", "APIKEY"}
_KEY_QUALIFIERS = {"API", "ACCESS", "PRIVATE", "SECRET"}  # API_KEY, ACCESS_KEY, PRIVATE_KEY
_NOT_A_VALUE = {"FILE", "DIR", "DIRECTORY", "PATH"}  # *_TOKEN_FILE holds a path, not the token
_PLAIN_VALUE = re.compile(r"(?i)^(true|false|yes|no|on|off|none|null|[0-9]+(\.[0-9]+)?)$")
_MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words and numbers
# Values a config took from the environment through ${NAME}, whatever the variable's name. A
# context variable, so each thread or task sees what its own code registered (a fresh thread
# starts with none; copy_context() hands them on).
KNOWN_SECRETS: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("known_secrets", default=frozenset())


# user:password@ in any URI (postgresql://, mysql+pymysql://, https://, ...).
_URI_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<secret>[^@/\s]+)(?=@)")
# key=value, key: value, "key": "value" where the key names a credential.
_KEY_VALUE = re.compile(
    r"(?P<head>[\w.\-]*(?:password|passwd|pwd|token|secret|api[_\-]?key|access[_\-]?key|credential)s?"
    r"[\w.\-]*[\"']?\s*[:=]\s*[\"']?)(?P<secret>[^\s\"',;&}\]]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<head>\bbearer\s+)(?P<secret>[A-Za-z0-9._~+/\-]+=*)", re.IGNORECASE)


def mask_secrets(text: str) -> str:
    """``text`` with passwords in URIs, values of password/token/secret/api-key keys and the
    values of credential environment variables replaced by ``***``: params, tags and the
    saved config are readable by anyone with access to the tracking server."""
    for value in _secret_environment_values():
        text = text.replace(value, MASK)
    for pattern in (_URI_PASSWORD, _KEY_VALUE, _BEARER):
        text = pattern.sub(lambda m: m.group("head") + MASK, text)
    return text


def register_secret(value: str) -> None:
    """Mask ``value`` from now on, whatever the name of the variable it came from."""
    if len(value) >= _MIN_SECRET_LENGTH:
        KNOWN_SECRETS.set(KNOWN_SECRETS.get() | {value})


@functools.cache  # mask_secrets asks about every variable for every logged value
def is_secret_name(name: str) -> bool:
    parts = name.upper().split("_")
    if parts[-1] in _NOT_A_VALUE:
        return False
    return bool(_SECRET_PARTS.intersection(parts)) or ("KEY" in parts and bool(_KEY_QUALIFIERS.intersection(parts)))


def _secret_environment_values() -> list[str]:
    values = {
        v
        for k, v in os.environ.items()
        if is_secret_name(k) and len(v) >= _MIN_SECRET_LENGTH and not _PLAIN_VALUE.match(v)
    }
    return sorted(
        values | KNOWN_SECRETS.get(), key=len, reverse=True
    )  # a longer secret first, in case one contains another
