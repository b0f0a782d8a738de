"""The options of one call's run, and the command-line flags that set them.

:class:`RunOptions` is what every front end (``analyze``, batch, ``report``, ``live``,
``replay``) needs to set up a call's :class:`~calmcall.runner.CallRunner`: which
channel is whom, the config and the agent's profile, whether to transcribe and with
which model, the customer's name and the phrase playbooks. It holds paths, not loaded
objects, so it is frozen, hashable and picklable (batch and fleet workers get it as
is); :meth:`RunOptions.load_config` / :meth:`RunOptions.load_profile` load them.

The flags are declared once here (:func:`add_channel_arguments`,
:func:`add_config_argument`, :func:`add_run_arguments`) and added by every command
that takes them, so they cannot drift apart between commands.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .audio_io import CHANNEL
from .config import Config
from .events import Baseline

__all__ = ["RunOptions", "add_channel_arguments", "add_config_argument", "add_language_arguments", "add_run_arguments"]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """One call's run options (paths, not loaded objects; picklable).

    ``agent_channel`` / ``customer_channel``: 0-based channel indices of the file (None:
    the defaults, agent 0 and customer 1 on a stereo file); ``config_path``: TOML
    config (None: the defaults); ``profile_path``: the agent's calm profile from
    ``calmcall calibrate`` (None: learned from the call); ``transcribe``: run the
    speech model (phrase cues and word pace need it); ``model_dir``: CTranslate2
    Whisper model (None: the bundled tiny.en); ``playbook_files``: extra phrase rules,
    used alone with ``replace_playbook``; ``language`` (en|fr|auto) and ``cue_language``
    (same|en|fr) override the config's ``[language]`` (None: keep it)."""

    agent_channel: int | None = None
    customer_channel: int | None = None
    config_path: Path | None = None
    profile_path: Path | None = None
    transcribe: bool = True
    model_dir: Path | None = None
    customer_name: str | None = None
    playbook_files: tuple[Path, ...] = ()
    replace_playbook: bool = False
    language: str | None = None
    cue_language: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunOptions:
        """The options of a parsed command line (flags a command lacks take their defaults)."""

        def path(name: str) -> Path | None:
            v = getattr(args, name, None)
            return None if v is None else Path(v)

        return cls(
            agent_channel=getattr(args, "agent_channel", None),
            customer_channel=getattr(args, "customer_channel", None),
            config_path=path("config"),
            profile_path=path("profile"),
            transcribe=not getattr(args, "no_transcribe", False),
            model_dir=path("model"),
            customer_name=getattr(args, "customer_name", None),
            playbook_files=tuple(Path(p) for p in (getattr(args, "playbook", None) or ())),
            replace_playbook=bool(getattr(args, "replace_playbook", False)),
            language=getattr(args, "language", None),
            cue_language=getattr(args, "cue_language", None),
        )

    def load_config(self) -> Config:
        """The config with ``language`` / ``cue_language`` applied (``ConfigError`` with the
        key and how to fix it on a bad file)."""
        from .config import load_config, with_language

        return with_language(load_config(self.config_path), self.language, self.cue_language)

    def load_profile(self) -> Baseline | None:
        """The agent's calm profile, or None when the run learns it from the call."""
        if self.profile_path is None:
            return None
        from .baseline import read_profile

        return read_profile(self.profile_path)

    def call_kwargs(self) -> dict[str, Any]:
        """The keyword arguments :func:`calmcall.analysis.analyze_file` takes besides
        ``config`` and ``profile`` (which :meth:`load_config` / :meth:`load_profile` load)."""
        return {
            "agent_channel": self.agent_channel,
            "customer_channel": self.customer_channel,
            "transcribe": self.transcribe,
            "customer_name": self.customer_name,
            "model_dir": self.model_dir,
            "playbook_files": list(self.playbook_files),
            "replace_playbook": self.replace_playbook,
        }


def add_channel_arguments(p: argparse.ArgumentParser, *, note: str = "") -> None:
    """``--agent-channel N`` and ``--customer-channel M`` (0-based). ``note`` is added to
    the help texts (e.g. " (audio input)")."""
    p.add_argument(
        "--agent-channel", type=CHANNEL, default=None, metavar="N", help=f"channel of the agent, from 0 (default 0){note}"
    )
    p.add_argument(
        "--customer-channel",
        type=CHANNEL,
        default=None,
        metavar="M",
        help=f"channel of the customer (default 1 on a stereo file; none on mono){note}",
    )


def add_config_argument(p: argparse.ArgumentParser, *, note: str = "") -> None:
    """``--config FILE``."""
    p.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help=f"TOML config (see `calmcall config --print-default`){note}"
    )


def add_run_arguments(p: argparse.ArgumentParser, *, note: str = "") -> None:
    """``--profile``, ``--no-transcribe``, ``--model``, ``--customer-name``,
    ``--playbook`` (repeatable) and ``--replace-playbook``."""
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="PROFILE.toml",
        help=f"the agent's calm baseline from `calmcall calibrate` (else learned from the call){note}",
    )
    p.add_argument(
        "--no-transcribe",
        action="store_true",
        help=f"prosody cues only: no speech recognition (no transcript, no phrase cues){note}",
    )
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"CTranslate2 Whisper model directory (default: the bundled tiny.en){note}",
    )
    p.add_argument(
        "--customer-name", default=None, metavar="NAME", help=f"the customer's name, for the use-their-name phrase cue{note}"
    )
    p.add_argument(
        "--playbook",
        type=Path,
        action="append",
        default=None,
        metavar="FILE",
        help=f"extra phrase rules (TOML); may be repeated{note}",
    )
    p.add_argument("--replace-playbook", action="store_true", help=f"use only the --playbook files, not the built-in rules{note}")
    add_language_arguments(p)


def add_language_arguments(p: argparse.ArgumentParser) -> None:
    """``--language`` and ``--cue-language`` (override the config's ``[language]``)."""
    p.add_argument(
        "--language",
        choices=("en", "fr", "auto"),
        default=None,
        help="language of the call: en (tiny.en, default), fr or auto (multilingual base model; auto "
        "detects it from the first utterance); picks the model, the playbook and the masked number words",
    )
    p.add_argument(
        "--cue-language",
        choices=("same", "en", "fr"),
        default=None,
        help="language of the prompts, summary and report (default: same as --language)",
    )
