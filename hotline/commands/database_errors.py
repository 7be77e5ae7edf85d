"""One line for a database the command cannot use: the setting, the URL (password hidden) and
the driver's own reason, without SQLAlchemy's statement echo and "Background on this error"
link (issue 7 item 11: an operator reads the first line; make it the whole message)."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

# What a command may get from a database it cannot use: driver errors through SQLAlchemy,
# and the OSError of a server that does not answer or a SQLite file that is gone.
DATABASE_ERRORS = (SQLAlchemyError, OSError)


def shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def reason(error: BaseException) -> str:
    """The driver's reason, on one line."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip() or type(cause).__name__
    return text.splitlines()[0]


def database_problem(url: str, error: BaseException, doing: str = "use") -> str:
    return f"setting database.url: cannot {doing} {shown_url(url)}: {reason(error)}"
