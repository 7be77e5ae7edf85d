"""Build the voice prompts a menu needs: text-to-speech where nobody has recorded the sound.

Sounds live in Asterisk's layout: the menu's default language in ``DIR/<prompt id>.wav``,
every other language in ``DIR/<lang>/<prompt id>.wav`` (Asterisk looks in the channel
language's folder first, then in the folder without a language).

A synthesised file has a hidden sidecar ``.<name>.wav.tts.json`` holding the hash of what made
it (text, voice, format). A sound without that sidecar, or any other file of the same name in
another format (``welcome.g722``, ``welcome.ulaw``…), is a recording: it is never overwritten,
and a synthesised copy beside it is removed so Asterisk cannot pick the robot over the person.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

# Menu language code -> espeak-ng voice.
VOICES: dict[str, str] = {"zh": "cmn", "cmn": "cmn", "yue": "yue", "en": "en"}
DEFAULT_LANGUAGE = "zh"
# Asterisk-ready: 8 kHz, mono, signed 16-bit PCM in a RIFF WAV.
RATE = 8000
# Part of every hash: bump it when the synthesis pipeline changes so old files are rebuilt.
PIPELINE = "espeak-ng|sox gain -n -3 rate 8000 mono s16|v1"
_PROMPT_ID = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]+)?$")
SUBPROCESS_TIMEOUT_S = 60


class PromptError(Exception):
    """A menu's prompt table or the synthesis tools are unusable; the message says which."""


@dataclass(frozen=True, slots=True)
class PromptText:
    prompt_id: str  # the sound name the dialplan/IVR plays, e.g. "hotline/welcome"
    lang: str
    text: str


Status = Literal["synthesised", "up-to-date", "recorded", "failed"]


@dataclass(slots=True)
class BuildReport:
    synthesised: list[Path] = field(default_factory=list)
    up_to_date: list[Path] = field(default_factory=list)
    recorded: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)


def _entry(prompt_id: str, raw: Any, default_lang: str) -> list[PromptText]:
    if isinstance(raw, str):
        texts = {default_lang: raw}
    elif isinstance(raw, dict) and set(raw) == {"text", "lang"}:
        texts = {raw["lang"]: raw["text"]}
    elif isinstance(raw, dict) and "text" in raw:
        texts = {raw.get("lang", default_lang): raw["text"]}
    elif isinstance(raw, dict):
        texts = raw
    else:
        raise PromptError(f"prompts.{prompt_id}: must be a text or a table of language = text")
    out = []
    for lang, text in texts.items():
        if not isinstance(lang, str) or not _LANGUAGE.match(lang):
            raise PromptError(f"prompts.{prompt_id}: {lang!r} is not a language code")
        if not isinstance(text, str) or not text.strip():
            raise PromptError(f"prompts.{prompt_id}.{lang}: empty or not a text")
        out.append(PromptText(prompt_id, lang, text.strip()))
    return out


def prompts_from_menu(path: str | Path) -> tuple[list[PromptText], str]:
    """The prompt texts of a menu file and the menu's default language.

    Reads the ``[prompts]`` table of ivr/menus/*.toml: ``"hotline/welcome" = { zh = "…",
    yue = "…" }``; a plain string means the default language, and ``{ text = "…", lang = "…" }``
    is accepted too. Only this table and ``[menu].language`` are read, so the menu may grow.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PromptError(f"menu {path}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PromptError(f"menu {path}: {error}") from None
    menu = data.get("menu", {})
    default_lang = menu.get("language", DEFAULT_LANGUAGE) if isinstance(menu, dict) else None
    if not isinstance(default_lang, str) or not _LANGUAGE.match(default_lang):
        raise PromptError(f"menu {path}: menu.language must be a language code")
    table = data.get("prompts")
    if not isinstance(table, dict) or not table:
        raise PromptError(f"menu {path}: no [prompts] table (the words behind each sound)")
    prompts: list[PromptText] = []
    for prompt_id, raw in table.items():
        if not _PROMPT_ID.match(prompt_id):
            raise PromptError(f"menu {path}: prompt name {prompt_id!r} is not a sound path")
        prompts.extend(_entry(prompt_id, raw, default_lang))
    return prompts, default_lang


def is_language(code: str) -> bool:
    """Whether ``code`` is a language code a menu may name (zh, yue, zh_TW…)."""
    return bool(_LANGUAGE.match(code))


def is_prompt_id(name: str) -> bool:
    """Whether ``name`` is a sound path this module can build (``hotline/incidents/x``)."""
    return bool(_PROMPT_ID.match(name))


def without_text(
    needed: Iterable[str],
    prompts: Iterable[PromptText],
    out_dir: Path,
    default_lang: str = DEFAULT_LANGUAGE,
) -> list[str]:
    """The needed sounds that have no text to synthesise and no recording in ``out_dir``."""
    have = {prompt.prompt_id for prompt in prompts}
    lacking = []
    for name in dict.fromkeys(needed):
        if name in have:
            continue
        target = target_path(out_dir, PromptText(name, default_lang, "-"), default_lang)
        if not is_prompt_id(name) or not _recordings(target):
            lacking.append(name)
    return lacking


def voice_for(lang: str) -> str:
    return VOICES.get(lang, lang)


def target_path(out_dir: Path, prompt: PromptText, default_lang: str) -> Path:
    folder = out_dir if prompt.lang == default_lang else out_dir / prompt.lang
    return folder / f"{prompt.prompt_id}.wav"


def digest(prompt: PromptText) -> str:
    made_of = {"text": prompt.text, "voice": voice_for(prompt.lang), "pipeline": PIPELINE}
    return hashlib.sha256(json.dumps(made_of, sort_keys=True).encode("utf-8")).hexdigest()


def _sidecar(target: Path) -> Path:
    return target.with_name(f".{target.name}.tts.json")


def _recordings(target: Path) -> list[Path]:
    """Sounds of the same name that we did not make (any format)."""
    found = []
    if target.parent.is_dir():
        for candidate in target.parent.glob(f"{glob_escape(target.stem)}.*"):
            if candidate == target or candidate.name.endswith(".tmp"):
                continue
            found.append(candidate)
    if target.exists() and not _sidecar(target).exists():
        found.append(target)
    return found


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _stored_digest(target: Path) -> str | None:
    try:
        data = json.loads(_sidecar(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("sha256") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def require_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise PromptError(f"not installed: {', '.join(missing)} (apt-get install espeak-ng sox)")


def _run(argv: list[str], stdin: bytes | None = None) -> None:
    result = subprocess.run(
        argv, input=stdin, capture_output=True, timeout=SUBPROCESS_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PromptError(f"{argv[0]} failed: {detail[-1] if detail else result.returncode}")


def synthesise(text: str, voice: str, target: Path) -> None:
    """Speak text with espeak-ng and convert it to 8 kHz mono 16-bit WAV at target (atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".tts-") as tmp:
        raw = Path(tmp) / "espeak.wav"
        ready = Path(tmp) / "ready.wav"
        # Text on stdin (-b 1: UTF-8) so a prompt starting with "-" is never read as an option.
        _run(["espeak-ng", "-v", voice, "-b", "1", "--stdin", "-w", str(raw)], text.encode())
        # gain -n -3 normalises below full scale so the resampler cannot clip.
        _run(
            [
                "sox",
                "-V1",
                str(raw),
                "-r",
                str(RATE),
                "-c",
                "1",
                "-b",
                "16",
                "-e",
                "signed-integer",
                str(ready),
                "gain",
                "-n",
                "-3",
            ]
        )
        os.replace(ready, target)


def _build_one(prompt: PromptText, target: Path) -> Status:
    recordings = _recordings(target)
    if recordings:
        if target.exists() and _sidecar(target).exists():
            # A person recorded this sound after we synthesised it: theirs wins.
            target.unlink()
            _sidecar(target).unlink()
        return "recorded"
    wanted = digest(prompt)
    if target.exists() and _stored_digest(target) == wanted:
        return "up-to-date"
    synthesise(prompt.text, voice_for(prompt.lang), target)
    made = {"sha256": wanted, "text": prompt.text, "voice": voice_for(prompt.lang)}
    _sidecar(target).write_text(json.dumps(made, ensure_ascii=False), encoding="utf-8")
    return "synthesised"


def build_prompts(
    prompts: Iterable[PromptText],
    out_dir: Path,
    default_lang: str = DEFAULT_LANGUAGE,
    on_done: Callable[[PromptText, Status], None] | None = None,
) -> BuildReport:
    """Synthesise every prompt without a recording or an up-to-date synthesis.

    One failing prompt is logged and reported, and the others are still built.
    """
    require_tools()
    report = BuildReport()
    for prompt in prompts:
        target = target_path(out_dir, prompt, default_lang)
        status: Status
        try:
            status = _build_one(prompt, target)
        except (PromptError, OSError, subprocess.TimeoutExpired) as error:
            log.error("prompt %s (%s): %s", prompt.prompt_id, prompt.lang, error)
            report.failed[target] = str(error)
            status = "failed"
        else:
            {
                "synthesised": report.synthesised,
                "up-to-date": report.up_to_date,
                "recorded": report.recorded,
            }[status].append(target)
        if on_done is not None:
            on_done(prompt, status)
    return report
