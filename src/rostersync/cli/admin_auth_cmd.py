"""``rostersync admin password | invite | token ...``: how administrators get into the
dashboard and the API.

Passwords are read from standard input (never from an argument, which would land in shell
history and ``ps``). An invite prints a one-time link instead, so no password has to travel
at all. API tokens are printed once, at creation; only their digests are kept.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.table import Table

from rostersync.bootstrap import build_services
from rostersync.cli.output import JSON_OPTION, console, emit_json, handle_errors
from rostersync.errors import ConfigurationError
from rostersync.service import api_tokens
from rostersync.service.auth import Auth
from rostersync.service.invites import create_invite, invite_link
from rostersync.settings import load_settings

token_app = typer.Typer(help="API tokens of an administrator.", no_args_is_help=True)
EMAIL = typer.Option("--email", help="The administrator's email.")


def read_password_stdin() -> str:
    """The password on standard input (one line; a trailing newline is not part of it)."""
    if sys.stdin is None:
        raise ConfigurationError("There is no standard input; pipe the password in.")
    if sys.stdin.isatty():  # typed by a person: don't echo it
        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise ConfigurationError(
            "No password on standard input. Pipe it in, e.g. "
            "'printf %s \"$PASSWORD\" | rostersync admin password --email E'."
        )
    return password


def register(admin_app: typer.Typer) -> None:
    admin_app.command("password")(set_password)
    admin_app.command("invite")(invite)
    admin_app.add_typer(token_app, name="token")


@handle_errors
def set_password(email: Annotated[str, EMAIL], as_json: bool = JSON_OPTION) -> None:
    """Set an administrator's dashboard password, read from standard input."""
    Auth(build_services()).set_password(email, read_password_stdin())
    if as_json:
        emit_json({"email": email.strip().lower(), "password": "set"})
    else:
        console.print(f"The password of {email} is set.", highlight=False)


@handle_errors
def invite(email: Annotated[str, EMAIL], as_json: bool = JSON_OPTION) -> None:
    """Print a one-time link (valid 7 days) where the administrator chooses a password."""
    settings = load_settings()
    secret = create_invite(build_services(settings), email)
    link = invite_link(settings.public_url, secret)
    if as_json:
        emit_json({"email": email.strip().lower(), "link": link})
    else:
        console.print(link, highlight=False, soft_wrap=True)


@token_app.command("create")
@handle_errors
def token_create(
    email: Annotated[str, EMAIL],
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
    as_json: bool = JSON_OPTION,
) -> None:
    """Create an API token and print it (it is shown only this once)."""
    token, secret = api_tokens.create_token(build_services(), email, label)
    if as_json:
        emit_json({"id": token.id, "email": token.email, "label": token.label, "token": secret})
    else:
        console.print(secret, highlight=False, soft_wrap=True)


@token_app.command("list")
@handle_errors
def token_list(email: Annotated[str, EMAIL], as_json: bool = JSON_OPTION) -> None:
    """The administrator's API tokens (ids and labels; never the tokens themselves)."""
    tokens = api_tokens.list_tokens(build_services(), email)
    if as_json:
        emit_json(
            {
                "tokens": [
                    {
                        "id": t.id,
                        "label": t.label,
                        "created_at": t.created_at.isoformat(),
                        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
                    }
                    for t in tokens
                ]
            }
        )
        return
    table = Table("id", "label", "created", "status")
    for t in tokens:
        status = "active" if t.active else "revoked"
        table.add_row(t.id, t.label, t.created_at.isoformat(timespec="seconds"), status)
    console.print(table)


@token_app.command("revoke")
@handle_errors
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (see 'admin token list').")],
    email: Annotated[str, EMAIL],
    as_json: bool = JSON_OPTION,
) -> None:
    """Revoke an API token: it stops working at once."""
    token = api_tokens.revoke_token(build_services(), email, token_id)
    if as_json:
        emit_json({"id": token.id, "revoked": True})
    else:
        console.print(f"Revoked {token.id}.", highlight=False)
