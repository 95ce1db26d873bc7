"""Credentials out of everything the tool logs or prints (no MLflow import, usable anywhere)."""

from __future__ import annotations

import os
import re

MASK = "***"
# Environment variables whose values are credentials (MLFLOW_TRACKING_PASSWORD, PGPASSWORD,
# AWS_SECRET_ACCESS_KEY, ...): their values are masked wherever they show up in text.
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|ACCESS_?KEY|CREDENTIAL", re.IGNORECASE)
_MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words and numbers

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


def _secret_environment_values() -> list[str]:
    values = {v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)  # a longer secret first, in case one contains another
