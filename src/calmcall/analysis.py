"""Analyze a recorded call through the streaming pipeline: the ``analyze`` document.

The call is fed block by block exactly as a live call would be; transcription (when
on) runs through the streaming transcriber under a simulated clock that charges
real compute time, so word and phrase-prompt times are what a live call on this
machine would have shown.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .audio_io import Call, iter_blocks, load_call
from .config import Config
from .document import SCHEMA_VERSION, analysis_document, strip_type  # noqa: F401 (SCHEMA_VERSION: re-exported)
from .events import Baseline, BaselineReady, CustomerState, Event, Measures, Prompt, Speaker, Word, to_dict
from .pipeline import Pipeline
from .runner import CallRunner, Transcriber, Transcribers

log = logging.getLogger(__name__)

BLOCK_S = 0.1


def make_phrase_coach(
    playbook_files: list[Path] | None,
    *,
    replace_playbook: bool = False,
    customer_name: str | None = None,
    language: str = "en",
    lock: Any | None = None,
) -> Any:
    """The phrase coach of a call: the built-in playbook of ``language`` (``en``,
    ``fr``; ``auto``: both, routed by the call's language ``lock``) plus
    ``playbook_files`` (only those with ``replace_playbook``); used by analyze, live
    and replay."""
    from .text.playbook import LanguageRoutedCoach, PhraseCoach, load_playbook

    if language == "auto":
        if lock is None:
            raise ValueError("language 'auto' needs the call's LanguageLock")
        return LanguageRoutedCoach(
            {
                lang: make_phrase_coach(
                    playbook_files, replace_playbook=replace_playbook, customer_name=customer_name, language=lang
                )
                for lang in ("en", "fr")
            },
            lock,
        )
    pb = load_playbook(extra=list(playbook_files or []), replace=replace_playbook, language=language)
    return PhraseCoach(pb, customer_name=customer_name)


def run_call(
    call: Call,
    *,
    config: Config,
    profile: Baseline | None = None,
    transcribe: bool = True,
    customer_name: str | None = None,
    model_dir: str | Path | None = None,
    playbook_files: list[Path] | None = None,
    replace_playbook: bool = False,
    fixed_asr_cost_s: float | None = None,
    transcriber: Transcriber | None = None,
    model: Any = None,
) -> tuple[list[Event], Pipeline]:
    """Run ``call`` through a :class:`~calmcall.runner.CallRunner` (the same core live
    runs); returns all events in order and the pipeline.

    ``config.language.call`` picks the model, the playbook and the masking words; the
    call's :class:`~calmcall.asr.language.LanguageLock` is ``pipe.language_lock``.
    ``model``: an already loaded speech model (``asr.model.load_model``; a batch worker
    or a Ray actor loads one and passes it to every call); ``None`` loads the one
    ``model_dir`` names for this call. ``transcriber`` (optional, with ``transcribe``)
    replaces the speech model altogether: any :class:`~calmcall.runner.Transcriber`, e.g.
    :class:`~calmcall.live.logged_words.LoggedWords` re-delivering known decode results."""
    from .asr.language import call_language

    language = config.language.call
    options, lock = call_language(language)
    phrase_coach = (
        make_phrase_coach(
            playbook_files, replace_playbook=replace_playbook, customer_name=customer_name, language=language, lock=lock
        )
        if transcribe
        else None
    )
    pipe = Pipeline(config, has_customer=call.customer is not None, agent_baseline=profile, phrase_coach=phrase_coach)
    pipe.language_lock = lock  # type: ignore[attr-defined]  # read by build_document
    if not transcribe:
        transcriber = None
    elif transcriber is None:
        from .asr.model import load_model
        from .asr.stream import SimulatedClock

        if model is None:
            model = load_model(model_dir, language=language)
        roles: list[Speaker] = ["agent", "customer"] if call.customer is not None else ["agent"]
        # one clock for both speakers: they queue for one decoder, as they do live
        auto_lock = lock if language == "auto" else None
        transcriber = Transcribers(
            model, roles, clock=SimulatedClock(fixed_cost_s=fixed_asr_cost_s), options=options, language_lock=auto_lock
        )
    runner = CallRunner(pipe, transcriber)
    events: list[Event] = []
    for _t, blocks in iter_blocks(call, block_s=BLOCK_S):
        events += runner.feed(blocks)
    events += runner.finish()
    runner.close()
    return events, pipe


def build_document(call: Call, events: list[Event], pipe: Pipeline, config: Config) -> dict[str, Any]:
    """The analyze JSON document of ``call`` (:mod:`calmcall.document`; docs/analyze-json.md)."""
    words = [
        {
            "start_s": round(e.start_s, 3),
            "end_s": round(e.end_s, 3),
            "text": e.text,
            "speaker": e.speaker,
            "confidence": round(e.confidence, 3),
            "t_s": round(e.t_s, 3),
        }
        for e in events
        if isinstance(e, Word)
    ]
    words.sort(key=lambda w: (w["start_s"], w["speaker"]))
    baselines: dict[str, Any] = {"agent": None, "customer": None}
    for e in events:
        if isinstance(e, BaselineReady):
            d = to_dict(e)
            baselines[e.speaker] = {**d["baseline"], "t_s": d["t_s"]}
    profile = pipe.profile_baseline("agent")
    if profile is not None:
        baselines["agent"] = {
            "f0_hz": profile.f0_hz,
            "level_db": profile.level_db,
            "rate_syl_s": profile.rate_syl_s,
            "wpm": profile.wpm,
            "speech_s": profile.speech_s,
            "source": "profile",
            "t_s": 0.0,
        }
    lock = getattr(pipe, "language_lock", None)
    detected = lock.language if lock is not None else None
    cue_lang = config.language.cue_language(detected)
    prompts = strip_type(to_dict(e) for e in events if isinstance(e, Prompt))
    if cue_lang != "en" or config.language.call != "en":
        from .messages import localize_dict

        prompts = [localize_dict(p, cue_lang) for p in prompts]
    doc = analysis_document(
        file=call.path,
        duration_s=round(call.duration_s, 3),
        channels=call.channels,
        prompts=prompts,
        words=words,
        timeline=strip_type(to_dict(e) for e in events if isinstance(e, Measures)),
        customer_states=[to_dict(e) for e in events if isinstance(e, CustomerState)],
        baselines=baselines,
        config=config.to_dict(),
        measures=pipe.summary(),
        suppressed_prompts=pipe.coach.suppressed,
    )
    if config.language.call != "en" or cue_lang != "en":  # English documents stay as they were
        doc["language"] = {
            "call": config.language.call,
            "cues": cue_lang,
            **({"detection": lock.to_dict()} if lock is not None and config.language.call == "auto" else {}),
        }
    return doc


def analyze_file(
    path: str | Path,
    *,
    config: Config,
    agent_channel: int | None = None,
    customer_channel: int | None = None,
    profile: Baseline | None = None,
    transcribe: bool = True,
    customer_name: str | None = None,
    model_dir: str | Path | None = None,
    playbook_files: list[Path] | None = None,
    replace_playbook: bool = False,
) -> dict[str, Any]:
    """Load, run and summarise one call. Raises ``CallFileError`` on bad input."""
    call = load_call(path, agent_channel=agent_channel, customer_channel=customer_channel)
    events, pipe = run_call(
        call,
        config=config,
        profile=profile,
        transcribe=transcribe,
        customer_name=customer_name,
        model_dir=model_dir,
        playbook_files=playbook_files,
        replace_playbook=replace_playbook,
    )
    return build_document(call, events, pipe, config)
