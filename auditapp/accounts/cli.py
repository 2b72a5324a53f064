"""flask users create"""

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from ..core.errors import RuleError
from ..extensions import db
from . import services
from .models import Role
from .schemas import UserCreateSchema

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", default=None, help="Display name (default: the part of the e-mail before @).")
@click.password_option(help="Prompted for if not given.")
def create(email, role, name, password):
    """Create a user who can log in with EMAIL."""
    data = {"email": email, "role": role, "name": name or email.split("@")[0], "password": password}
    try:
        data = UserCreateSchema().load(data)
        user = services.create_user(None, **data)
        db.session.commit()
    except ValidationError as err:
        for field, messages in err.messages_dict.items():
            click.echo(f"{field}: {' '.join(messages)}", err=True)
        raise SystemExit(1)
    except RuleError as err:
        raise click.ClickException(err.message)
    click.echo(f"created {user.email} ({user.role_enum.label})")
