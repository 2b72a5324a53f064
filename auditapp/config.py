"""Settings from AUDITAPP_* environment variables, with the documented defaults."""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple, overload

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class AppPaths(NamedTuple):
    templates: Path
    static: Path
    checklists: Path  # the shipped checklists: the default checklist folder
    instance: Path  # the default instance folder


def app_paths() -> AppPaths:
    """Where the templates, static files and shipped checklists are, and the default instance folder.

    In a checkout (or an editable install) templates/, static/ and checklists/ sit next to auditapp/,
    and so does instance/. The wheel carries them inside the package (see pyproject.toml); it may be
    installed where nothing should be written, so its instance folder is instance/ in the working
    directory.
    """
    package = Path(__file__).resolve().parent
    if (package / "templates").is_dir():  # installed from the wheel
        return AppPaths(
            package / "templates", package / "static", package / "shipped" / "checklists", Path.cwd() / "instance"
        )
    return AppPaths(
        PROJECT_ROOT / "templates", PROJECT_ROOT / "static", PROJECT_ROOT / "checklists", PROJECT_ROOT / "instance"
    )


@overload
def _env(name: str, default: str) -> str: ...
@overload
def _env(name: str, default: None = None) -> str | None: ...
def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"AUDITAPP_{name}")
    return value if value not in (None, "") else default


def _flag(name: str, default: bool = False) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def instance_path() -> Path:
    """Folder for the SQLite file, photos and the generated secret key."""
    return Path(_env("INSTANCE_PATH", str(app_paths().instance))).resolve()


def database_engine_options(url: str) -> dict[str, Any]:
    """Connection pool and timeouts for a database server (PostgreSQL); SQLite keeps SQLAlchemy's defaults.

    Per process: gunicorn's workers each hold a pool, so the server sees at most
    hosts x workers x (DB_POOL_SIZE + DB_MAX_OVERFLOW) connections. TLS is the URL's (sslmode=verify-full)."""
    if url.startswith("sqlite"):
        return {}
    statement_ms = int(_env("DB_STATEMENT_TIMEOUT_MS", "30000"))
    return {
        "pool_size": int(_env("DB_POOL_SIZE", "5")),
        "max_overflow": int(_env("DB_MAX_OVERFLOW", "5")),
        "pool_timeout": float(_env("DB_POOL_TIMEOUT", "10")),  # seconds a request waits for a free connection
        "pool_recycle": 1800,  # firewalls and poolers drop idle connections after a while
        "pool_pre_ping": True,  # a host survives a database restart or failover without 500s
        "connect_args": {
            "connect_timeout": int(_env("DB_CONNECT_TIMEOUT", "5")),
            # A runaway query is cancelled instead of holding a worker and its locks.
            "options": f"-c statement_timeout={statement_ms}",
        },
    }


def settings_from_env(instance: Path) -> dict[str, Any]:
    """Flask config keys built from the environment; see the README's configuration table."""
    max_upload_mb = int(_env("MAX_UPLOAD_MB", "25"))
    secure = _flag("SECURE_COOKIES")
    database_url = _env("DATABASE_URL", f"sqlite:///{instance / 'auditapp.sqlite3'}")
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Where photo files live: "folder" (PHOTO_DIR on this host) or "s3" (shared by several hosts).
        "PHOTO_STORAGE": _env("PHOTO_STORAGE", "folder"),
        "PHOTO_DIR": _env("PHOTO_DIR", str(instance / "photos")),
        # PHOTO_STORAGE=s3: one bucket that IT creates (the app never creates it), reached through the
        # endpoint (empty: AWS) with these keys (empty: the standard AWS credential chain). Bounded
        # timeouts and retries, so an unreachable store answers an upload with 503 in seconds.
        "S3_BUCKET": _env("S3_BUCKET", ""),
        "S3_ENDPOINT_URL": _env("S3_ENDPOINT_URL", ""),
        "S3_REGION": _env("S3_REGION", ""),
        "S3_ACCESS_KEY_ID": _env("S3_ACCESS_KEY_ID", ""),
        "S3_SECRET_ACCESS_KEY": _env("S3_SECRET_ACCESS_KEY", ""),
        "S3_PREFIX": _env("S3_PREFIX", "photos/"),
        "S3_CONNECT_TIMEOUT": float(_env("S3_CONNECT_TIMEOUT", "3")),
        "S3_READ_TIMEOUT": float(_env("S3_READ_TIMEOUT", "10")),
        "S3_MAX_ATTEMPTS": int(_env("S3_MAX_ATTEMPTS", "3")),
        "PHOTO_MAX_EDGE": int(_env("PHOTO_MAX_EDGE", "2048")),
        # Pixel budgets: JPEG is decoded at reduced scale, PNG/WebP/HEIC whole (bench/photo_memory.py).
        "PHOTO_MAX_PIXELS": int(_env("PHOTO_MAX_PIXELS", "50000000")),
        "PHOTO_MAX_PIXELS_FULL_DECODE": int(_env("PHOTO_MAX_PIXELS_FULL_DECODE", "24000000")),
        "PHOTO_MAX_PER_REQUEST": int(_env("MAX_PHOTOS_PER_REQUEST", "10")),
        # One outbox batch (POST /outbox/batch): at most this many changes and bytes (photos count
        # against PHOTO_MAX_PER_REQUEST); a larger batch is refused whole with 413 and nothing applied.
        "OUTBOX_BATCH_MAX_CHANGES": int(_env("OUTBOX_BATCH_MAX_CHANGES", "100")),
        "OUTBOX_BATCH_MAX_BYTES": int(_env("OUTBOX_BATCH_MAX_MB", "16")) * 1024 * 1024,
        # Photos decoded at once per server process, and how long a request waits for a turn before a 503.
        "PHOTO_WORKERS": int(_env("PHOTO_WORKERS", "2")),
        "PHOTO_WAIT_SECONDS": float(_env("PHOTO_WAIT_SECONDS", "5")),
        # A completed audit's report PDF is rendered in the background at once (web/pdf.py prepare_pdf).
        "PDF_PREPARE": _flag("PDF_PREPARE", True),
        "CHECKLIST_DIR": _env("CHECKLIST_DIR", str(app_paths().checklists)),
        "SECRET_KEY": _env("SECRET_KEY"),
        # The event log's chain key and where its checkpoints go: both outside the database (README).
        "EVENT_KEY": _env("EVENT_KEY"),
        "CHECKPOINT_FILE": _env("CHECKPOINT_FILE", str(instance / "checkpoints.jsonl")),
        # Flask reads no body larger than this; uploads over it get 413 before they are stored.
        "MAX_CONTENT_LENGTH": max_upload_mb * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        # An auditor who closes the app on the shop floor is still logged in when reopening it, so
        # changes queued offline can be sent without a login first.
        "PERMANENT_SESSION_LIFETIME": timedelta(days=int(_env("SESSION_DAYS", "14"))),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        # Offline replays can be hours old; the token lives as long as the session instead.
        "WTF_CSRF_TIME_LIMIT": None,
        # Werkzeug's default (scrypt) costs ~0.1 s a hash here: right for production.
        "PASSWORD_HASH_METHOD": "scrypt",
        # Default time to complete a corrective action, by severity.
        "CAPA_DUE_DAYS": {
            "major": int(_env("CAPA_DUE_DAYS_MAJOR", "30")),
            "minor": int(_env("CAPA_DUE_DAYS_MINOR", "90")),
        },
        # Reminder e-mail: off unless an SMTP host is set; printed to the console in demo mode.
        "SMTP_HOST": _env("SMTP_HOST", ""),
        "SMTP_PORT": int(_env("SMTP_PORT", "25")),
        "SMTP_USER": _env("SMTP_USER", ""),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _flag("SMTP_STARTTLS"),
        "MAIL_FROM": _env("MAIL_FROM", "auditapp@localhost"),
        "MAIL_TO_CONSOLE": _flag("DEMO"),
        "BASE_URL": _env("BASE_URL", "http://127.0.0.1:5000"),
        # The local CA's certificate a site-local install offers phones on /setup (scripts/serve_phone.py).
        "CA_CERT": _env("CA_CERT"),
        "REMIND_DAYS_BEFORE": int(_env("REMIND_DAYS_BEFORE", "3")),
        # Stored answers of applied change ids are kept this long for replays (flask changes prune).
        "CHANGE_RETENTION_DAYS": int(_env("CHANGE_RETENTION_DAYS", "30")),
        # Failed logins for one e-mail from one client address before that pair waits; other addresses
        # (the real user's) are not held up by it.
        "LOGIN_MAX_FAILURES": int(_env("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCKOUT_MINUTES": int(_env("LOGIN_LOCKOUT_MINUTES", "15")),
        # Failed logins from one client address, whatever the e-mails (Flask-Limiter's notation, ";" between).
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "10 per minute;100 per hour"),
        # Where the counters live: memory:// is this process only (the embedded single-process default);
        # several processes or hosts share redis://host:6379 or memcached://host:11211.
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": "auditapp",
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed; 0: none (direct clients).
        "TRUSTED_PROXIES": int(_env("TRUSTED_PROXIES", "0")),
        # How long /ready's verdict is kept per process, so a flood of probes costs one check.
        "READY_CACHE_SECONDS": float(_env("READY_CACHE_SECONDS", "2")),
        # ...and the addresses they connect from ("," between): a forwarded header from anyone else is ignored.
        "PROXY_ADDRESSES": [a.strip() for a in _env("PROXY_ADDRESSES", "127.0.0.1,::1").split(",") if a.strip()],
    }


def load_or_create_secret_key(instance: Path) -> str:
    """Read the instance's secret key, creating it on first start so sessions survive restarts."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: if two processes start at once, the loser reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load_or_create_event_key(instance: Path) -> str:
    """Read the key of the event log's chain, creating it (0600) on first use; keep a copy off the server."""
    path = instance / "event_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    # Written whole to a private file, then linked into place: a concurrent first use reads the winner's
    # complete key, never an empty file.
    draft = instance / f".event_key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()
