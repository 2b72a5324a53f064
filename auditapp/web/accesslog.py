"""Gunicorn's access log as one JSON object per line, for log systems (deploy/gunicorn.conf.py uses it).

Only what says what happened: never the query string (reset links, `next=` and search terms can carry
what should not be kept), cookies, Authorization, the Referer, or any other header than the user agent.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from gunicorn.glogging import Logger

from .requestid import ENVIRON_KEY

MAX_AGENT = 200  # a user agent is for telling phones apart, not for storing whatever a client sends


def access_record(status: int, sent: int | None, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
    """The fields of one access log line."""
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "request_id": environ.get(ENVIRON_KEY, ""),
        "method": environ.get("REQUEST_METHOD", ""),
        # PATH_INFO never holds the query; SCRIPT_NAME is the prefix the app is mounted at.
        "path": environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
        "status": status,
        "bytes": sent or 0,
        "duration_ms": round(request_time.total_seconds() * 1000, 1),
        # After ProxyFix (AUDITAPP_TRUSTED_PROXIES), the same client address the app saw.
        "client": environ.get("REMOTE_ADDR", ""),
        "user_agent": environ.get("HTTP_USER_AGENT", "")[:MAX_AGENT],
    }


class JsonAccessLogger(Logger):
    """Gunicorn's logger with its access lines written as JSON; the error log is left as it is."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status  # "200 OK" or 200, as gunicorn's own atoms() allows
        code = int(status.split(None, 1)[0]) if isinstance(status, str) else int(status)
        record = access_record(code, getattr(resp, "sent", None), environ, request_time)
        self.access_log.info(json.dumps(record))
