"""One masking function for everything a run writes or prints: secrets never reach a file.

A secret can hide in a URL's userinfo (`postgresql://u:pw@h/db`), in its query string
(`?password=pw`, libpq's `sslpassword=`), in a libpq keyword string (`password=pw`), in
YAML text (`admin_token: t`), or as a mapping value under a secret-looking key.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
# Words a secret-holding key ends with: `admin_token`, `sslpassword`, `API-KEY`.
_SECRET_WORD = r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)"
_SECRET_KEY = re.compile(rf"^[\w.-]*{_SECRET_WORD}$", re.IGNORECASE)
_URL_USERINFO = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<secret>[^@/\s]+)@")
# `key=value` (query strings, libpq keywords) or `key: value` (YAML, messages).
_KEY_VALUE = re.compile(
    rf"\b(?P<key>[\w.-]*{_SECRET_WORD})(?P<sep>=|:[ \t]+)(?P<q>['\"]?)(?P<value>[^\s&#;'\",}}]+)",
    re.IGNORECASE)


def is_secret_key(key: object) -> bool:
    """`password`, `admin_token`, `sslpassword`: a key whose value must not be written down."""
    return isinstance(key, str) and bool(_SECRET_KEY.match(key))


def mask_secrets(value: Any) -> Any:
    """`value` with every secret replaced by `***`, recursively through dicts and lists."""
    if isinstance(value, str):
        masked = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", value)
        return _KEY_VALUE.sub(lambda m: f"{m['key']}{m['sep']}{m['q']}{MASK}", masked)
    if isinstance(value, dict):
        return {k: MASK if is_secret_key(k) and isinstance(v, str) and v else mask_secrets(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(v) for v in value]
    return value
