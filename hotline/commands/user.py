"""``hotline user``: web accounts (add, passwd, disable, enable, list, kiosk).

Passwords are read from a prompt (twice) or from stdin with ``--password-stdin``, never from
the command line, where they would land in the shell history and the process list.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from hotline.commands.with_store import run_with_store
from hotline.settings import Settings, load_settings
from hotline.web.auth_accounts import (
    check_role,
    check_username,
    create_kiosk,
    create_token_account,
    kiosk_url,
)
from hotline.web.auth_admin import UserAdmin, check_password
from hotline.web.auth_passwords import hash_password
from hotline.web.auth_table import ROLES
from ticketing.agents import AgentDirectory
from ticketing.store import TicketStore

T = TypeVar("T")


def _run(action: Callable[[TicketStore], Awaitable[T]]) -> T:
    settings = load_settings()

    try:
        return run_with_store(settings, action)
    except (ValueError, KeyError) as error:
        message = f"no such user {error.args[0]!r}" if isinstance(error, KeyError) else error
        raise click.ClickException(str(message)) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        return check_password(password)
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def _admin(store: TicketStore) -> UserAdmin:
    """Changes made here are logged as the operating-system user who ran the command."""
    return UserAdmin(store, f"cli:{getpass.getuser()}", "admin", "command line")


def _base_url(settings: Settings) -> str:
    web = settings.web
    return web.public_url or f"http://{web.host}:{web.port}"


@click.group()
def user() -> None:
    """Manage web accounts and wallboard kiosk links."""


@user.command()
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", "display_name", default=None, help="Display name (default: USERNAME).")
@click.option("--unit", default=None, help="The handling unit, for role 'unit'.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option(
    "--token", "with_token", is_flag=True,
    help="A machine account: no password, prints a bearer token (shown once).",
)  # fmt: skip
def add(
    username: str,
    role: str,
    display_name: str | None,
    unit: str | None,
    password_stdin: bool,
    with_token: bool,
) -> None:
    """Add a user who logs in with a password (or, with --token, a bearer token)."""
    try:
        check_username(username)
        check_role(role)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    name = display_name or username
    if with_token:
        token = _run(lambda store: create_token_account(store, username, role, name, unit))
        click.echo(f"added {username} ({role}); bearer token (shown once):\n{token}")
        return
    password_hash = hash_password(_read_password(password_stdin))
    _run(lambda store: _admin(store).create(username, role, name, password_hash, unit))
    click.echo(f"added {username} ({role})")


@user.command()
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def passwd(username: str, password_stdin: bool) -> None:
    """Set a user's password."""
    password_hash = hash_password(_read_password(password_stdin))
    _run(lambda store: _admin(store).reset_password(username, password_hash))
    click.echo(f"password of {username} changed")


@user.command()
@click.argument("username")
def disable(username: str) -> None:
    """Stop a user (or a kiosk screen) from logging in; open sessions end at once."""
    _run(lambda store: _admin(store).set_active(username, False))
    click.echo(f"{username} disabled")


@user.command()
@click.argument("username")
def enable(username: str) -> None:
    """Let a disabled user log in again."""
    _run(lambda store: _admin(store).set_active(username, True))
    click.echo(f"{username} enabled")


@user.command()
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
def role(username: str, role: str) -> None:
    """Give a user another role; their open sessions end."""
    _run(lambda store: _admin(store).set_role(username, role))
    click.echo(f"{username} is now {role}")


@user.command(name="list")
def list_users() -> None:
    """List the users (never their password hashes)."""
    users: list[dict[str, Any]] = _run(lambda store: store.list_users())
    for row in users:
        state = "active" if row["active"] else "disabled"
        unit = f"  unit={row['unit']}" if row.get("unit") else ""
        name = row["display_name"]
        click.echo(f"{row['username']:<24} {row['role']:<11} {state:<8} {name}{unit}")


@user.command()
@click.option("--name", "display_name", default="wallboard screen", show_default=True)
@click.option("--url", "base", default=None, help="Base URL (default: web.public_url).")
def kiosk(display_name: str, base: str | None) -> None:
    """Create a wallboard-only screen account and print the URL that logs the screen in."""
    token = _run(lambda store: create_kiosk(store, display_name))
    click.echo(kiosk_url(base or _base_url(load_settings()), token))


def _skills(values: tuple[str, ...], queues: list[str]) -> dict[str, int] | None:
    if not values:
        return None
    skills: dict[str, int] = {}
    for value in values:
        queue, _, penalty = value.partition(":")
        if queue not in queues:
            raise click.BadParameter(
                f"{queue!r} is not a queue ({', '.join(queues)})", param_hint="--skill"
            )
        try:
            skills[queue] = int(penalty or "0")
        except ValueError:
            raise click.BadParameter(f"{value!r}: QUEUE[:PENALTY]", param_hint="--skill") from None
    return skills


@user.command()
@click.argument("username")
@click.option("--extension", required=True, help="The agent's softphone extension (PJSIP/EXT).")
@click.option(
    "--name",
    "member_name",
    default=None,
    help="Member name in queue_log (default: the user's display name).",
)
@click.option(
    "--interface", default=None, help="Queue member interface (default: PJSIP/EXTENSION)."
)
@click.option("--state-interface", default=None, help="Device state interface, if another.")
@click.option("--pbx", default=None, help="The PBX the phone is on (default: the first).")
@click.option(
    "--skill",
    "skills",
    multiple=True,
    metavar="QUEUE[:PENALTY]",
    help="A queue the agent logs in to, with its penalty (0 = best); repeat. Replaces all.",
)
def agent(
    username: str,
    extension: str,
    member_name: str | None,
    interface: str | None,
    state_interface: str | None,
    pbx: str | None,
    skills: tuple[str, ...],
) -> None:
    """Tie a user of role agent to a phone, with the queues (skills) it logs in to."""
    settings = load_settings()
    queue_names = [q.name for q in settings.pbx.queues]
    chosen = _skills(skills, queue_names)
    pbx_name = pbx or settings.pbx_servers()[0].name

    async def tie(store: TicketStore) -> dict[str, Any]:
        found = await store.get_user(username)
        if found is None:
            raise KeyError(username)
        return await AgentDirectory(store.engine).set_agent(
            username,
            extension=extension,
            name=member_name or found["display_name"],
            interface=interface,
            state_interface=state_interface,
            pbx=pbx_name,
            skills=chosen,
        )

    row: dict[str, Any] = _run(tie)
    listed = ", ".join(f"{s['queue']}:{s['penalty']}" for s in row["skills"]) or "none"
    click.echo(
        f"{username} is agent {row['name']} on {row['interface']} ({row['pbx']}); skills: {listed}"
    )


@user.command()
@click.argument("username")
@click.option("--extension", required=True, help="The supervisor's phone extension (PJSIP/EXT).")
@click.option("--interface", default=None, help="The phone's interface (default: PJSIP/EXTENSION).")
@click.option("--pbx", default=None, help="The PBX the phone is on (default: the first).")
def phone(username: str, extension: str, interface: str | None, pbx: str | None) -> None:
    """Tie a supervisor (or admin) to their own phone: listen / whisper / barge ring it."""
    settings = load_settings()
    pbx_name = pbx or settings.pbx_servers()[0].name

    async def tie(store: TicketStore) -> dict[str, Any]:
        found = await store.get_user(username)
        if found is None:
            raise KeyError(username)
        return await AgentDirectory(store.engine).set_agent(
            username,
            extension=extension,
            name=found["display_name"],
            interface=interface,
            pbx=pbx_name,
            skills={},
            roles=("supervisor", "admin"),
        )

    row: dict[str, Any] = _run(tie)
    click.echo(f"{username}'s phone is {row['interface']} ({row['pbx']})")
