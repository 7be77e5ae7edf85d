"""``hotline prompts``: the menu's voice prompts, synthesised where nobody recorded them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from asterisk_conf import sounds
from hotline.prompts import (
    PromptError,
    PromptText,
    Status,
    build_prompts,
    prompts_from_menu,
    without_text,
)
from hotline.settings import Settings, load_settings
from ivr.menu import Menu, MenuError, load_menu


def default_menu() -> Path:
    return Path(str(resources.files("ivr") / "menus" / "12345.toml"))


def needed_sounds(menu: Menu, settings: Settings) -> list[str]:
    """Every sound the hotline plays: the menu's, the dialplan's, the degraded path's greeting
    (pbx.fallback_prompts), the generic incident announcement, and what app_queue says when
    a queue announces position or hold time."""
    # app_queue says anything only every announce-frequency seconds (0: never)
    announcing = any(
        q.announce_frequency > 0 and (q.announce_position != "no" or q.announce_holdtime != "no")
        for q in settings.pbx.queues
    )
    queue = sounds.QUEUE_SOUNDS if announcing else ()
    return list(
        dict.fromkeys([*menu.prompts, *sounds.SERVICE, *queue, *settings.pbx.fallback_prompts])
    )


@click.group("prompts")
def prompts() -> None:
    """Voice prompts of the IVR menus."""


@prompts.command("build")
@click.option(
    "--menu",
    "menu_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Menu file (default: ivr.menu_file, else the built-in 12345 menu).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Asterisk sounds directory (default: pbx.sounds_dir).",
)
def build(menu_file: Path | None, out_dir: Path | None) -> None:
    """Synthesise (espeak-ng + sox, 8 kHz mono 16-bit WAV) every prompt without a recording.

    The menu is validated first; every sound the menu, the dialplan and pbx.fallback_prompts
    play must have a text in the menu's [prompts] (or a recording in the sounds directory).
    """
    settings = load_settings()
    menu_file = menu_file or settings.ivr.menu_file or default_menu()
    out_dir = out_dir or settings.pbx.sounds_dir
    try:
        menu = load_menu(menu_file)
        texts, default_lang = prompts_from_menu(menu_file)
    except MenuError as error:
        raise click.ClickException("; ".join(str(fault) for fault in error.faults)) from None
    except (PromptError, OSError) as error:
        raise click.ClickException(str(error)) from None
    lacking = without_text(needed_sounds(menu, settings), texts, out_dir, default_lang)
    if lacking:
        raise click.ClickException(
            f"menu {menu_file}: no text in [prompts] and no recording in {out_dir} for: "
            f"{', '.join(lacking)}"
        )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("prompts", total=len(texts))

        def done(prompt: PromptText, status: Status) -> None:
            progress.update(task, advance=1, description=f"{prompt.prompt_id} ({prompt.lang})")

        try:
            report = build_prompts(texts, out_dir, default_lang, on_done=done)
        except PromptError as error:
            raise click.ClickException(str(error)) from None
        progress.update(task, description="prompts")

    click.echo(
        f"{len(report.synthesised)} synthesised, {len(report.up_to_date)} up to date, "
        f"{len(report.recorded)} recorded, {len(report.failed)} failed → {out_dir}"
    )
    for path, reason in report.failed.items():
        click.echo(f"failed: {path}: {reason}", err=True)
    if report.failed:
        raise SystemExit(1)
