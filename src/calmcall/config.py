"""Configuration: one TOML file, every threshold documented with default and unit.

``calmcall config --print-default`` prints :func:`default_config_text`, which is
generated from the dataclasses below, so the documentation cannot drift from the
code. An unknown key or a bad value raises :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .safeio import finite_in, short_repr


class ConfigError(InputError):
    """A configuration file is malformed; the message names the file and the key."""


def _f(default: Any, doc: str, *, lo: float | None = None, hi: float | None = None) -> Any:
    return field(default=default, metadata={"doc": doc, "lo": lo, "hi": hi})


@dataclass(frozen=True)
class MeasureConfig:
    """How voices are measured."""

    pitch_min_hz: float = _f(50.0, "lowest F0 the pitch tracker (swift-f0) may report (Hz)", lo=47, hi=400)
    pitch_max_hz: float = _f(500.0, "highest F0 the pitch tracker (swift-f0) may report (Hz)", lo=100, hi=2000)
    pitch_confidence: float = _f(
        0.3, "a speech frame is voiced when swift-f0's confidence is at least this (0-1)", lo=0.05, hi=0.99
    )
    pitch_chunk_s: float = _f(
        0.512,
        "swift-f0 runs on fixed chunks this long (rounded to 16 ms); a frame's pitch is known this plus 0.16 s after the chunk starts (s)",
        lo=0.25,
        hi=4,
    )
    speech_prob_on: float = _f(0.5, "speech starts when the Silero VAD speech probability reaches this (0-1)", lo=0.01, hi=1)
    speech_prob_off: float = _f(
        0.1, "speech ends once the Silero probability stays below this for longer than speech_hangover_s (0-1)", lo=0, hi=1
    )
    speech_prob_on_narrowband: float = _f(
        0.3,
        "on a narrowband channel (telephone band, see narrowband_hf_db) speech starts at this Silero probability instead: Silero's probabilities are lower there (0-1; chosen on the AMI development clips)",
        lo=0.01,
        hi=1,
    )
    speech_prob_off_narrowband: float = _f(0.05, "... and ends below this instead of speech_prob_off (0-1)", lo=0, hi=1)
    narrowband_hf_db: float = _f(
        -55.0,
        "a channel is narrowband while its loud frames' power above 4.5 kHz is more than this below their 300-3400 Hz power (dB; phone-band audio -66 to -68, wideband speech -17 to -24)",
        lo=-100,
        hi=-20,
    )
    speech_hangover_s: float = _f(
        0.3, "speech continues this long after the Silero probability falls below speech_prob_off (s)", lo=0, hi=2
    )
    vad_margin_db: float = _f(12.0, "energy gate: speech needs a frame this far above the tracked noise floor (dB)", lo=3, hi=40)
    vad_floor_db: float = _f(-60.0, "energy gate: frames quieter than this are never speech (dBFS)", lo=-100, hi=-10)
    vad_hangover_s: float = _f(0.25, "energy gate: stays open this long after the last loud frame (s)", lo=0, hi=2)
    echo_min_r: float = _f(
        0.75,
        "with both channels fed: speech whose band-energy pattern over 0.5 s correlates this well with the far side's (delay up to 0.25 s) is its echo/bleed, not speech (Pearson r)",
        lo=0.3,
        hi=1,
    )
    echo_margin_db: float = _f(6.0, "... and only if it is at least this much quieter than the far side (dB)", lo=0, hi=60)
    pitch_window_s: float = _f(1.0, "pitch = median F0 over this much of the latest voiced speech (s)", lo=0.2, hi=10)
    level_window_s: float = _f(1.0, "level = active speech level over this much of the latest speech (s)", lo=0.2, hi=10)
    rate_window_s: float = _f(3.0, "pace = syllable nuclei per second over this much of the latest speech (s)", lo=0.5, hi=20)
    syllable_dip_db: float = _f(
        2.5, "a syllable nucleus is a 300-2500 Hz intensity peak this far above the dips around it (dB)", lo=0.5, hi=12
    )
    nuclei_per_word: float = _f(
        1.3,
        "detected syllable nuclei per spoken word, to estimate wpm before words are transcribed (calibrated on LJSpeech)",
        lo=0.5,
        hi=3.0,
    )
    measures_interval_s: float = _f(0.25, "a Measures event per speaker every this many seconds of audio (s)", lo=0.05, hi=5)


@dataclass(frozen=True)
class BaselineConfig:
    """How calm baselines are learned (see README: Baselines)."""

    agent_speech_s: float = _f(
        10.0, "the agent's baseline is learned from their first this-many seconds of active speech (s)", lo=2, hi=300
    )
    customer_speech_s: float = _f(
        4.0, "the customer's baseline is learned from their first this-many seconds of active speech (s)", lo=2, hi=300
    )
    f0_min_hz: float = _f(
        60.0, "a learned baseline with a median pitch below this is refused and learning goes on (Hz)", lo=30, hi=300
    )
    f0_max_hz: float = _f(400.0, "... or above this (Hz)", lo=100, hi=1000)
    rate_min_syl_s: float = _f(
        2.0,
        "a learned baseline slower than this many syllable nuclei per second of speech is refused (conversational articulation is ~3-7 syllables/s; the detector finds 0.84-1.12 nuclei per syllable) (1/s)",
        lo=0.1,
        hi=10,
    )
    rate_max_syl_s: float = _f(8.0, "... or faster than this (1/s)", lo=1, hi=20)
    min_level_above_gate_db: float = _f(
        10.0, "a learned baseline's active level must be this far above measure.vad_floor_db, the energy gate (dB)", lo=0, hi=60
    )
    min_voiced_s: float = _f(
        1.0, "a baseline needs at least this much voiced speech in its window, else it is unsettled (s)", lo=0.1, hi=60
    )
    min_nuclei: int = _f(10, "... and at least this many syllable nuclei", lo=1, hi=1000)


@dataclass(frozen=True)
class TargetConfig:
    """The agent's target band, relative to their own calm baseline."""

    pace_margin: float = _f(
        0.3,
        "pace prompt when the pace from transcribed words (syllables of the words over elapsed time, pauses up to 2 s included) exceeds the calm pace by this fraction (0.3 = 30 % faster)",
        lo=0.02,
        hi=3,
    )
    pace_ceiling_wpm: float = _f(
        185.0,
        "while no plausible calm word pace is known (not learned yet, or refused), pace prompt above this many words per minute over elapsed turn time (conversational English ~150, under pressure 173-188)",
        lo=60,
        hi=400,
    )
    pitch_margin_st: float = _f(
        3.0, "pitch prompt when median F0 is this many semitones above the calm median (st)", lo=0.5, hi=24
    )
    volume_margin_db: float = _f(6.0, "volume prompt when active level is this many dB above the calm level (dB)", lo=0.5, hi=40)
    escalated_factor: float = _f(
        0.6, "while the customer is escalated, the pitch and volume margins are multiplied by this (tighter band)", lo=0.1, hi=1
    )
    escalated_pace_factor: float = _f(
        1.0,
        "while the customer is escalated, the pace margins are multiplied by this (1 = unchanged: a tighter pace margin prompts calm speech)",
        lo=0.1,
        hi=1,
    )
    hold_s: float = _f(
        1.5, "pitch and volume conditions must hold this long, on top of their 1 s window, before a prompt (s)", lo=0, hi=10
    )
    pace_hold_s: float = _f(
        0.3,
        "the word-pace condition must hold this long before a prompt (s; its readings change only as words are committed, and a short or unsettled reading already needs a larger excess)",
        lo=0,
        hi=10,
    )
    acoustic_pace_margin: float = _f(
        0.6,
        "without transcribed words (--no-transcribe, or before the first words of a stretch are committed) pace prompts only when the acoustic syllable rate exceeds the calm rate by this fraction: wider, because it follows words over elapsed time only loosely (r ~0.44, 23 % median error on real phone turns)",
        lo=0.02,
        hi=3,
    )
    acoustic_pace_hold_s: float = _f(
        1.5, "the acoustic pace condition must hold this long, on top of its 3 s window, before a prompt (s)", lo=0, hi=10
    )
    release_gap_s: float = _f(0.8, "a pause in the agent's speech longer than this resets a holding condition (s)", lo=0.1, hi=10)

    def margins(self, *, escalated: bool = False) -> dict[str, float]:
        """The band's upper margins now: ``pace`` (fraction above the calm word pace),
        ``acoustic_pace`` (fraction above the calm syllable rate, used without words),
        ``pitch`` (semitones), ``volume`` (dB); tighter while the customer is escalated.
        The pipeline, the scorecard and the report all use this one rule."""
        f = self.escalated_factor if escalated else 1.0
        fp = self.escalated_pace_factor if escalated else 1.0
        return {
            "pace": self.pace_margin * fp,
            "acoustic_pace": self.acoustic_pace_margin * fp,
            "pitch": self.pitch_margin_st * f,
            "volume": self.volume_margin_db * f,
        }


@dataclass(frozen=True)
class CustomerConfig:
    """When the customer counts as escalated."""

    pitch_margin_st: float = _f(
        3.0, "customer pitch this many semitones above their baseline counts as raised (st)", lo=0.5, hi=24
    )
    volume_margin_db: float = _f(5.0, "customer level this many dB above their baseline counts as raised (dB)", lo=0.5, hi=40)
    pace_margin: float = _f(0.3, "customer syllable rate this fraction above their baseline counts as raised", lo=0.02, hi=3)
    min_raised: int = _f(2, "escalated when at least this many of pitch, volume, pace are raised (1-3)", lo=1, hi=3)
    hold_s: float = _f(
        1.5,
        "the raised measures (each a median over robust_window_s) must hold this long before the state turns escalated (s)",
        lo=0,
        hi=20,
    )
    calm_after_s: float = _f(15.0, "back to calm after this long without raised customer speech (s)", lo=1, hi=300)
    robust_window_s: float = _f(
        0.5,
        "each raised measure is the median of its bounded rise over this much of the caller's latest speech (s; see calmcall.escalation)",
        lo=0.1,
        hi=10,
    )


@dataclass(frozen=True)
class OvertalkConfig:
    """Agent overtalk: the agent starts while the caller holds the floor and both keep talking (see calmcall.overtalk)."""

    customer_min_s: float = _f(
        0.5, "the caller must have been talking on their own at least this long when the agent starts (s)", lo=0, hi=10
    )
    overlap_s: float = _f(
        0.6,
        "both must keep talking this long after the agent's onset, on top of the VAD hangover (shorter backchannels, and a caller who stops within it, are not overtalk) (s)",
        lo=0.1,
        hi=10,
    )
    turn_gap_s: float = _f(
        0.6,
        "the caller's turn continues across pauses shorter than this, for the time they have held the floor (s)",
        lo=0.05,
        hi=5,
    )
    agent_silence_s: float = _f(0.3, "the agent counts as starting after at least this much silence (s)", lo=0.05, hi=10)
    pause_s: float = _f(
        0.15, "during the overlap, a pause longer than this by either party (beyond the VAD hangover) ends it (s)", lo=0, hi=2
    )


@dataclass(frozen=True)
class CoachConfig:
    """How often prompts may appear, and which one (docs/background.md: Cues: sparse beats continuous; README: When prompts appear)."""

    min_interval_s: float = _f(
        20.0,
        "at most one prompt per this many seconds, all kinds together, unless a stronger one breaks through (s)",
        lo=0,
        hi=600,
    )
    cooldown_s: float = _f(
        45.0, "the same kind (or phrase rule) is not repeated within this time, unless it is now stronger (s)", lo=0, hi=3600
    )
    breakthrough_gap_s: float = _f(
        3.0,
        "within min_interval_s, a medium or high prompt of another kind than the previous prompt (or of a higher tier) may break the rate limit if at least this long after the previous prompt and the budget has a token (s)",
        lo=0,
        hi=600,
    )
    burst: int = _f(
        3,
        "the budget: a bucket of this many cues, refilled at one per min_interval_s (on average at most one cue per min_interval_s, bursts of this many)",
        lo=1,
        hi=10,
    )
    high_severity_factor: float = _f(2.0, "a pace/pitch/volume excess of this many margins is high severity", lo=1, hi=10)
    low_severity_factor: float = _f(
        1.2, "a pace/pitch/volume excess under this many margins is low severity (borderline)", lo=1, hi=10
    )
    decision_weak_s: float = _f(
        2.0,
        "a ready weak cue (low severity, or a phrase cue below high) waits up to this long for a stronger one before it is shown (s)",
        lo=0,
        hi=10,
    )
    decision_medium_s: float = _f(
        0.3,
        "a ready medium-severity pace/pitch/volume/other cue waits this long for a stronger or coincident one (s)",
        lo=0,
        hi=10,
    )


#: Accepted values of the string keys (section, key) -> values.
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("language", "call"): ("en", "fr", "auto"),
    ("language", "cues"): ("same", "en", "fr"),
}


@dataclass(frozen=True)
class LanguageConfig:
    """Which language the call is in, and which language the cues and screens use (docs/french.md)."""

    call: str = _f(
        "en",
        "language of the call: en (tiny.en), fr or auto (the multilingual base model; auto detects it from the call's first utterance); picks the speech model, the phrase playbook, the number words masked and the pace norms (--language)",
    )
    cues: str = _f(
        "same",
        "language of the prompts, the overlay, the summary and the report: same (as the call's, English until auto has decided), en or fr (--cue-language)",
    )

    def cue_language(self, detected: str | None = None) -> str:
        """The language cues are shown in (``en``/``fr``); ``detected`` is the language
        an ``auto`` call settled on (None while undecided)."""
        if self.cues != "same":
            return self.cues
        if self.call == "auto":
            return detected or "en"
        return self.call


@dataclass(frozen=True)
class Config:
    """All of calmcall's tunable settings."""

    measure: MeasureConfig = field(default_factory=MeasureConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    targets: TargetConfig = field(default_factory=TargetConfig)
    customer: CustomerConfig = field(default_factory=CustomerConfig)
    overtalk: OvertalkConfig = field(default_factory=OvertalkConfig)
    coach: CoachConfig = field(default_factory=CoachConfig)
    language: LanguageConfig = field(default_factory=LanguageConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Every section as a dict; ``[language]`` only when it is not the default
        (English documents and logs stay exactly as before the language keys)."""
        d = dataclasses.asdict(self)
        if self.language == LanguageConfig():
            del d["language"]
        return d


_SECTIONS: dict[str, type] = {f.name: f.default_factory for f in dataclasses.fields(Config)}  # type: ignore[misc]


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    return repr(value)


def default_config_text() -> str:
    """The default configuration as documented TOML (every key, default, unit)."""
    lines = [
        "# calmcall configuration. Every key is optional; these are the defaults.",
        "# Use with: calmcall analyze CALL --config THIS_FILE.toml",
        "",
    ]
    for name, cls in _SECTIONS.items():
        lines.append(f"[{name}]")
        lines.append(f"# {cls.__doc__}")
        for f in dataclasses.fields(cls):
            lines.append(f"# {f.metadata['doc']}")
            lines.append(f"{f.name} = {_fmt(f.default)}")
        lines.append("")
    return "\n".join(lines)


def config_from_dict(data: dict[str, Any], *, source: str = "<config>") -> Config:
    """Build a :class:`Config` from parsed TOML, validating every key and value."""
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section [{name}] (known: {', '.join(_SECTIONS)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{name}' must be a [{name}] table")
        cls = _SECTIONS[name]
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, raw in value.items():
            if key not in known:
                raise ConfigError(f"{source}: unknown key {name}.{key} (known: {', '.join(known)})")
            f = known[key]
            choices = _CHOICES.get((name, key))
            if choices is not None:
                if raw not in choices:
                    raise ConfigError(f"{source}: {name}.{key} must be one of {', '.join(choices)}, got {short_repr(raw)}")
                kwargs[key] = raw
                continue
            expected: Callable[[Any], Any] = type(f.default)
            lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise ConfigError(f"{source}: {name}.{key} must be a number in [{lo}, {hi}], got {short_repr(raw)}")
            if expected is int and not isinstance(raw, int):
                raise ConfigError(f"{source}: {name}.{key} must be a whole number in [{lo}, {hi}], got {short_repr(raw)}")
            if not finite_in(raw, lo, hi):
                raise ConfigError(
                    f"{source}: {name}.{key} = {short_repr(raw)} is out of range [{lo}, {hi}] ({f.metadata['doc']})"
                )
            kwargs[key] = expected(raw)
        sections[name] = cls(**kwargs)
    cfg = Config(**sections)
    if cfg.language.call != "en" and "pace_ceiling_wpm" not in (data.get("targets") or {}):
        from .norms import apply_norms

        cfg = apply_norms(cfg, cfg.language.call)  # the language's default ceiling (calmcall.norms)
    if cfg.measure.pitch_min_hz * 1.05 >= cfg.measure.pitch_max_hz:
        raise ConfigError(f"{source}: measure.pitch_min_hz must be below measure.pitch_max_hz")
    if cfg.baseline.f0_min_hz >= cfg.baseline.f0_max_hz or cfg.baseline.rate_min_syl_s >= cfg.baseline.rate_max_syl_s:
        raise ConfigError(f"{source}: baseline plausibility bounds must have min below max")
    if cfg.measure.speech_prob_off > cfg.measure.speech_prob_on:
        raise ConfigError(f"{source}: measure.speech_prob_off must not exceed measure.speech_prob_on")
    if cfg.measure.speech_prob_off_narrowband > cfg.measure.speech_prob_on_narrowband:
        raise ConfigError(f"{source}: measure.speech_prob_off_narrowband must not exceed measure.speech_prob_on_narrowband")
    return cfg


def logged_config_problem(data: Any) -> str | None:
    """Why a config stored in a session log cannot be trusted (None if it can): a
    known key whose value is not a finite number in its range. Unknown sections and
    keys are ignored (a log written by another calmcall version), unlike
    :func:`config_from_dict`."""
    if not isinstance(data, dict):
        return "not a table"
    for name, section in data.items():
        cls = _SECTIONS.get(name)
        if cls is None:
            continue
        if not isinstance(section, dict):
            return f"[{name}] is not a table"
        for f in dataclasses.fields(cls):
            choices = _CHOICES.get((name, f.name))
            if choices is not None:
                if f.name in section and section[f.name] not in choices:
                    return f"{name}.{f.name} = {short_repr(section[f.name])}"
                continue
            if f.name in section and not finite_in(section[f.name], f.metadata.get("lo"), f.metadata.get("hi")):
                return f"{name}.{f.name} = {short_repr(section[f.name])}"
    return None


def with_language(cfg: Config, call: str | None = None, cues: str | None = None) -> Config:
    """``cfg`` with ``[language]`` overridden by the command line (``--language``,
    ``--cue-language``; None keeps the file's value). Raises :class:`ConfigError`."""
    if call is None and cues is None:
        return cfg
    new = {"call": call if call is not None else cfg.language.call, "cues": cues if cues is not None else cfg.language.cues}
    for key, value in new.items():
        if value not in _CHOICES[("language", key)]:
            raise ConfigError(
                f"--{'language' if key == 'call' else 'cue-language'} must be one of "
                f"{', '.join(_CHOICES[('language', key)])}, not {short_repr(value)}"
            )
    from .norms import apply_norms

    return apply_norms(dataclasses.replace(cfg, language=LanguageConfig(**new)), new["call"])


def load_config(path: str | Path | None) -> Config:
    """Load a TOML config file (``None`` → defaults). Raises :class:`ConfigError`."""
    if path is None:
        return Config()
    from .safeio import read_toml

    data = read_toml(
        path, ConfigError, what="config file", missing_hint=" (write one with `calmcall config --print-default > FILE`)"
    )
    return config_from_dict(data, source=str(path))
