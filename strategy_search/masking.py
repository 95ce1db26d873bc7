"""Credentials out of everything the tool logs or prints (no MLflow import, usable anywhere)."""

from __future__ import annotations

import re

MASK = "***"

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
    """``text`` with passwords in URIs and values of password/token/secret/api-key keys
    replaced by ``***``: params, tags and the saved config are readable by anyone with access
    to the tracking server."""
    for pattern in (_URI_PASSWORD, _KEY_VALUE, _BEARER):
        text = pattern.sub(lambda m: m.group("head") + MASK, text)
    return text
