"""Gunicorn settings for auditapp: `gunicorn -c deploy/gunicorn.conf.py` (scripts/run does this).

Every setting comes from the environment, with the defaults below (also in the README):

  AUDITAPP_BIND        where to listen; else HOST:PORT           (127.0.0.1:5000)
  HOST, PORT           the address and port when AUDITAPP_BIND is not set
  AUDITAPP_WORKERS     worker processes                          (2)
  AUDITAPP_THREADS     threads per worker                        (4)
  AUDITAPP_TIMEOUT     seconds a worker may be silent before it is restarted (60)
  AUDITAPP_KEEPALIVE   seconds an idle connection is kept open   (5)
  AUDITAPP_ACCESS_LOG  where the JSON access log goes: a file, "-" for stdout, "" for none (-)
  AUDITAPP_ERROR_LOG   where gunicorn's own messages go          (- : stderr)

The app's settings (AUDITAPP_DATABASE_URL, AUDITAPP_INSTANCE_PATH...) are read by the app itself.
With more than one worker, login throttles need a shared counter store (AUDITAPP_RATELIMIT_STORAGE_URI).
"""

import os


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


wsgi_app = "auditapp:create_app()"
proc_name = "auditapp"

bind = [_env("AUDITAPP_BIND", f"{_env('HOST', '127.0.0.1')}:{_env('PORT', '5000')}")]

# Threads, not only processes: a phone uploading photos over a slow network holds its thread, not a
# whole worker, and keep-alive connections cost a thread while idle, not a process.
worker_class = "gthread"
workers = int(_env("AUDITAPP_WORKERS", "2"))
threads = int(_env("AUDITAPP_THREADS", "4"))
# Photo uploads and PDF reports take seconds; a minute of silence means a stuck worker.
timeout = int(_env("AUDITAPP_TIMEOUT", "60"))
graceful_timeout = 30
# Phones open one connection and reuse it for the page, its scripts and its fragments; over a
# weak signal a new TLS connection costs more than the request.
keepalive = int(_env("AUDITAPP_KEEPALIVE", "5"))

# Proxy headers are trusted in one place only: the app's ProxyFix, with AUDITAPP_TRUSTED_PROXIES
# hops (auditapp/web/security.py). Gunicorn would otherwise believe X-Forwarded-Proto from any
# local address on its own, whatever that setting says.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""

accesslog = _env("AUDITAPP_ACCESS_LOG", "-") if os.environ.get("AUDITAPP_ACCESS_LOG") != "" else None
errorlog = _env("AUDITAPP_ERROR_LOG", "-")
# One JSON object per line, with the request id, and nothing that grants access (no query, no cookies).
logger_class = "auditapp.web.accesslog.JsonAccessLogger"

# Gunicorn's control socket defaults to one path per user ($HOME/.gunicorn): two instances on one
# host (or a test beside a running server) would fight over it, and nothing here uses it.
control_socket_disable = True
