"""``flask users …``: the first admin, and account maintenance from the shell."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from . import services


@click.group("users")
def users_group() -> None:
    """Accounts: create the first admin, unlock, change roles."""


@users_group.command("create-admin")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.password_option(help="Prompted for when not given.")
@with_appcontext
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin account (the first one, or another)."""
    try:
        user = services.create_admin(email, password, name)
    except services.AccountError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"admin {user.email} created. Sign in at /account/login; you will be asked to set up "
               "two-factor sign-in before entering the back office.")


@users_group.command("unlock")
@click.argument("email")
@with_appcontext
def unlock(email: str) -> None:
    """Lift a sign-in lockout for EMAIL."""
    from ..extensions import db
    from .models import LoginThrottle
    from sqlalchemy import delete

    removed = db.session.execute(delete(LoginThrottle).where(
        LoginThrottle.email == services.normalise_email(email))).rowcount
    from .. import audit

    audit.record("admin.customer.unlocked", target_type="email", target_id=services.normalise_email(email),
                 after={"via": "cli"})
    db.session.commit()
    click.echo(f"{email}: {'unlocked' if removed else 'was not locked'}")


@users_group.command("list")
@click.option("--role", type=click.Choice(["customer", "staff", "admin"]), default=None)
@with_appcontext
def list_users(role: str | None) -> None:
    """Accounts with their role and status."""
    from sqlalchemy import select

    from ..extensions import db
    from .models import User

    query = select(User).where(User.deleted_at.is_(None)).order_by(User.id)
    if role:
        query = query.where(User.role == role)
    for user in db.session.scalars(query):
        flags = ",".join(f for f, on in (("verified", user.email_verified), ("mfa", user.mfa_enabled)) if on)
        click.echo(f"{user.id:>6}  {user.role:<8}  {user.email}  {flags}")
