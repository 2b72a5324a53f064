"""auditapp: the internal-audit field tool. create_app only wires the parts together."""

from pathlib import Path

from flask import Flask

from . import config as settings


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, one blueprint per domain, errors, commands."""
    instance = Path((config or {}).get("INSTANCE_PATH") or settings.instance_path())
    from .web.security import BoundedInt

    app = Flask(
        __name__,
        instance_path=str(instance),
        instance_relative_config=True,
        template_folder=str(settings.app_paths().templates),
        static_folder=str(settings.app_paths().static),
    )
    app.url_map.converters["int"] = BoundedInt
    instance.mkdir(parents=True, exist_ok=True)  # the SQLite file and photos live here
    app.config.from_mapping(settings.settings_from_env(instance))
    if config:
        app.config.from_mapping(config)
    # The pool and timeouts follow the database finally chosen (a test's or the environment's).
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", settings.database_engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.load_or_create_secret_key(instance)

    register_extensions(app)
    register_blueprints(app)
    register_template_context(app)
    register_flows()
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (every table known to the metadata and to migrations)
    from .accounts.services import user_for_session
    from .extensions import csrf, db, htmx, limiter, login_manager, migrate
    from .photos.s3 import S3Store
    from .photos.storage import register_store_kind
    from .web import assets, compression, rendering, requestid, security

    # First, so its after_request runs last: it compresses the finished response, headers and all.
    compression.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(user_for_session)
    security.init_app(app)
    rendering.init_app(app)
    assets.init_app(app)
    requestid.init_app(app)
    # The photo store kinds AUDITAPP_PHOTO_STORAGE may name besides "folder".
    register_store_kind("s3", S3Store.from_config)


def register_blueprints(app: Flask) -> None:
    from .accounts.views import admin_bp, auth_bp
    from .audits.views import bp as audits_bp
    from .capa.views import bp as capa_bp
    from .checklists.authoring_views import bp as authoring_bp
    from .checklists.views import bp as checklists_bp
    from .gaps.views import bp as gaps_bp
    from .improvements.views import bp as improvements_bp
    from .ops.health import bp as ops_bp
    from .outbox.views import bp as outbox_bp
    from .photos.views import bp as photos_bp
    from .programme.views import bp as programme_bp
    from .pwa.setup import bp as setup_bp
    from .pwa.views import bp as pwa_bp
    from .reports.views import bp as reports_bp
    from .review.views import bp as review_bp
    from .web.views import bp as home_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(checklists_bp, url_prefix="/checklists")
    app.register_blueprint(authoring_bp, url_prefix="/checklists")
    app.register_blueprint(audits_bp, url_prefix="/audits")
    app.register_blueprint(gaps_bp, url_prefix="/audits")
    app.register_blueprint(photos_bp)
    app.register_blueprint(capa_bp, url_prefix="/nc")
    app.register_blueprint(improvements_bp, url_prefix="/improvements")
    app.register_blueprint(pwa_bp)
    app.register_blueprint(setup_bp)
    app.register_blueprint(outbox_bp, url_prefix="/outbox")
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(review_bp, url_prefix="/reviews")
    app.register_blueprint(programme_bp, url_prefix="/programme")
    app.register_blueprint(ops_bp)


def register_flows() -> None:
    """Who follows whom across domains, in one place (the receivers are idempotent to connect).

    A changed finding moves the improvement register, the nonconformity log and gap actions, side by
    side; a completed or reopened audit moves the clause coverage map's summary, and a completed one's
    report PDF is prepared; photo evidence is shown to whoever may see an audit or a nonconformity it
    belongs to; closed records are replayed against their history by `flask events verify --records`."""
    from .audits.completion import audit_completed, audit_reopened
    from .audits.integrity import check_completed_audits
    from .audits.services import may_see_photo as audit_photo
    from .audits.views import prepare_report_pdf
    from .capa.integrity import check_closed_nonconformities
    from .capa.services import may_see_photo as nonconformity_photo
    from .capa.services import raised_from_findings
    from .capa.services import sync_from_finding as sync_nonconformity
    from .events.replay import register_record_check
    from .findings.services import finding_changed, register_raised
    from .gaps.services import cancel_gap_actions
    from .improvements.services import sync_from_finding as sync_register
    from .photos.services import register_viewer
    from .reports import coverage
    from .review.integrity import check_held_reviews

    for receiver in (sync_register, sync_nonconformity, cancel_gap_actions):
        finding_changed.connect(receiver)
    # The clause coverage map's summary follows audits as they complete and reopen.
    audit_completed.connect(coverage.audit_completed)
    audit_reopened.connect(coverage.audit_reopened)
    # A completed audit's report PDF is rendered in the background once committed, ready for its first download.
    audit_completed.connect(prepare_report_pdf)
    # The audit screen and report show each finding's nonconformity number, linked.
    register_raised(raised_from_findings)
    register_viewer(audit_photo)
    register_viewer(nonconformity_photo)
    # `flask events verify --records`: each domain replays the history of its closed records.
    for check in (check_completed_audits, check_closed_nonconformities, check_held_reviews):
        register_record_check(check)


def register_template_context(app: Flask) -> None:
    """The words templates everywhere use for each domain's codes (labels, statuses, grades)."""
    from .audits.views import audit_vocabulary
    from .capa.views import capa_vocabulary
    from .gaps.views import gap_vocabulary
    from .programme.views import programme_vocabulary
    from .pwa.views import offline_page

    for vocabulary in (audit_vocabulary, capa_vocabulary, gap_vocabulary, programme_vocabulary, offline_page):
        app.context_processor(vocabulary)


def register_errorhandlers(app: Flask) -> None:
    from .web.errors import init_app

    init_app(app)


def register_commands(app: Flask) -> None:
    from .accounts.cli import users_cli
    from .capa.cli import actions_cli
    from .checklists.cli import checklists_cli
    from .core.cli import changes_cli
    from .demo import demo_command
    from .events.cli import events_cli
    from .ops.cli import backup_cli
    from .photos.cli import photos_cli
    from .reports.cli import coverage_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(checklists_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(events_cli)
    app.cli.add_command(actions_cli)
    app.cli.add_command(changes_cli)
    app.cli.add_command(photos_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(coverage_cli)
