"""One HTTP call of an external channel (robots, SMS gateways, webhooks),
with the outbox's reading of the answer: a 2xx is delivered; 408, 429, a
5xx, a timeout or a refused connection are worth retrying; any other 4xx
is not (the same request would be refused again).

The standard library's client: a channel sends one small JSON request per
message, and a dependency would buy nothing here.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.notify.channels import DeliveryError

RETRY_STATUSES = frozenset({408, 425, 429})
MAX_KEPT = 4000  # characters of a non-JSON answer kept on the outbox row


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: Any  # the JSON answer, or its text when it is not JSON (None when empty)

    def as_result(self) -> dict[str, Any]:
        return {"status": self.status, "body": self.body}


def _decode(raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text[:MAX_KEPT]


def call(method: str, url: str, *, body: Any = None, headers: Mapping[str, str] | None = None,
         timeout: float, key: str | None = None) -> HttpReply:
    """Send ``body`` as JSON; the answer of a 2xx, ``DeliveryError`` otherwise."""
    if not url.startswith(("http://", "https://")):
        raise DeliveryError(f"not an http(s) URL: {url[:200]}", retry=False)
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method.upper())
    if data is not None:
        request.add_header("Content-Type", "application/json; charset=utf-8")
    if key:
        request.add_header("Idempotency-Key", key)
    for name, value in (headers or {}).items():
        request.add_header(str(name), str(value))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpReply(response.status, _decode(response.read()))
    except urllib.error.HTTPError as error:
        status = error.code
        answer = _decode(error.read() or b"")
        retry = status >= 500 or status in RETRY_STATUSES
        raise DeliveryError(f"HTTP {status} from {url[:200]}: {str(answer)[:300]}", retry=retry) from None
    except (ValueError, http.client.InvalidURL) as error:  # a URL or header that cannot be sent, now or later
        raise DeliveryError(f"cannot send to {url[:200]}: {error}", retry=False) from None
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryError(f"cannot reach {url[:200]}: {reason}", retry=True) from None
