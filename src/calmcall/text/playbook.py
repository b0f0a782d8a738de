"""The phrase playbook: de-escalation rules as data, and the coach that applies them.

The built-in rules live in ``playbook.toml`` next to this module; users add or override
rules (by ``id``) with their own TOML files, or replace the built-ins entirely. The
format is documented in ``docs/playbook.md``.

>>> pb = load_playbook()                       # built-ins only
>>> pc = PhraseCoach(pb, customer_name=None)
>>> prompts = pc.on_word(word, customer_escalated=False)   # each committed Word
>>> prompts += pc.tick(now_s, customer_escalated=True)      # periodically

:class:`PhraseCoach` is deterministic: the same words and ticks give the same prompts.
It does not rate-limit across rules (the pipeline's coach does), but one rule does not
fire again within ``refire_s`` seconds, and one match fires once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..events import Prompt, Severity, Word
from .normalize import normalize_text, normalize_word
from .normalize_fr import normalize_text_fr, normalize_word_fr
from .patterns import NAME_STOPWORDS, NAME_STOPWORDS_FR, MatchContext, Pattern, PatternError, Tok, compile_pattern

__all__ = [
    "BUILTIN_PATH",
    "BUILTIN_PATHS",
    "PLAYBOOK_LANGUAGES",
    "PhraseCoach",
    "Playbook",
    "PlaybookError",
    "Rule",
    "Settings",
    "check_playbook_files",
    "load_playbook",
    "normalizers",
]

#: Languages with a built-in playbook.
PLAYBOOK_LANGUAGES = ("en", "fr")


def normalizers(language: str) -> tuple[Any, Any]:
    """``(normalize_word, normalize_text)`` of a playbook language (``en``/``fr``)."""
    if language == "fr":
        return normalize_word_fr, normalize_text_fr
    if language == "en":
        return normalize_word, normalize_text
    raise PlaybookError(f"playbook language must be one of {', '.join(PLAYBOOK_LANGUAGES)}, not {language!r}")


SPEAKERS = ("agent", "customer")
SEVERITIES = ("low", "medium", "high")
RULE_TYPES = ("phrase", "absence", "exchange")


class PlaybookError(InputError):
    """A playbook file is malformed. The message is one line naming the file, the
    rule id or key, and what is wrong."""


# ---------------------------------------------------------------- data model


@dataclass(frozen=True)
class Settings:
    """Global matching settings (``[settings]`` table)."""

    utterance_gap_s: float = 1.2  # a pause longer than this ends a speaker's utterance
    settle_s: float = 2.0  # no new word committed for this long: the utterance is over
    refire_s: float = 8.0  # a rule stays quiet this long after it fired (rule may override)
    name_min_len: int = 2


@dataclass(frozen=True)
class Rule:
    """One playbook rule (see docs/playbook.md for every key)."""

    id: str
    type: str
    speaker: str  # agent | customer | both (exchange rules)
    patterns: tuple[Pattern, ...]
    headline: str
    detail: str
    severity: Severity
    description: str = ""
    rank: int = 0  # order among phrase cues of one severity: higher = worse, shown first
    only_escalated: bool = False
    after_other_s: float | None = None
    after_other_words: int = 1
    unless_earlier: tuple[Pattern, ...] = ()
    early_escalation_s: float | None = None
    within_s: float | None = None  # absence rules
    after_satisfied_s: float | None = None  # absence rules: wait after a pattern was said (default within_s)
    window_s: float = 30.0  # exchange rules
    min_turns: int = 4
    min_each: int = 2
    refire_s: float | None = None
    source: str = "<builtin>"

    @property
    def uses_name(self) -> bool:
        return any(p.uses_name for p in self.patterns)


@dataclass(frozen=True)
class Playbook:
    rules: tuple[Rule, ...]
    settings: Settings
    name_patterns: tuple[Pattern, ...]
    name_stopwords: frozenset[str]
    sources: tuple[str, ...] = ()
    language: str = "en"  # en | fr: which normaliser tokens and patterns go through

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rules]

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


# ---------------------------------------------------------------- loading

BUILTIN_PATH = "playbook.toml"
#: Built-in playbook of each language (files next to this module).
BUILTIN_PATHS = {"en": BUILTIN_PATH, "fr": "playbook_fr.toml"}

_RULE_KEYS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "type": (str,),
    "speaker": (str,),
    "patterns": (list,),
    "headline": (str,),
    "detail": (str,),
    "severity": (str,),
    "description": (str,),
    "only_escalated": (bool,),
    "after_other_s": (int, float),
    "after_other_words": (int,),
    "unless_earlier": (list,),
    "early_escalation_s": (int, float),
    "within_s": (int, float),
    "after_satisfied_s": (int, float),
    "window_s": (int, float),
    "min_turns": (int,),
    "min_each": (int,),
    "refire_s": (int, float),
    "enabled": (bool,),
    "rank": (int,),
}
_SETTINGS_KEYS = {f.name: f.type for f in dataclasses.fields(Settings)}
_TOP_KEYS = {"version", "settings", "name", "rule"}
_NAME_KEYS = {"patterns", "stopwords"}


def _err(src: str, where: str, what: str) -> PlaybookError:
    return PlaybookError(f"{src}: {where}: {what}")


_SYNTAX = "{source}: TOML syntax error: {exc}"


def _read_toml(path: Path | str, text: str | None = None) -> dict[str, Any]:
    from ..safeio import parse_toml, read_toml

    if text is None:
        return read_toml(path, PlaybookError, what="playbook", missing_hint=" (check the --playbook path)", syntax=_SYNTAX)
    return parse_toml(text, PlaybookError, source=str(path), syntax=_SYNTAX)


def _compile_list(
    src: str, where: str, key: str, value: Any, *, allow_capture: bool = False, normalizer: Any = None
) -> tuple[Pattern, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err(src, where, f"key '{key}' must be a list of strings")
    out = []
    for v in value:
        try:
            out.append(compile_pattern(v, allow_capture=allow_capture, normalizer=normalizer))
        except PatternError as exc:
            from ..safeio import short_repr

            raise _err(src, where, f"{key}: pattern {short_repr(v, 60)}: {exc}") from None
    return tuple(out)


#: Ranges of the numeric keys (seconds, counts); a value outside is an error naming it.
_RANGES: dict[str, tuple[float, float]] = {
    "after_other_s": (0, 600),
    "early_escalation_s": (0, 3600),
    "within_s": (0, 3600),
    "after_satisfied_s": (0, 3600),
    "window_s": (0, 3600),
    "refire_s": (0, 3600),
    "after_other_words": (1, 1000),
    "min_turns": (1, 1000),
    "min_each": (1, 1000),
    "utterance_gap_s": (0.05, 60),
    "settle_s": (0.05, 60),
    "name_min_len": (1, 20),
}


def _num(src: str, where: str, key: str, value: Any, *, positive: bool = True) -> float:
    from ..safeio import finite_in, short_repr

    lo, hi = _RANGES.get(key, (0 if positive else None, None))
    if not finite_in(value, lo, hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise _err(src, where, f"key '{key}' must be a number in {rng}, not {short_repr(value)}")
    return float(value)


def _parse_rule(src: str, index: int, raw: Any, normalizer: Any = None) -> Rule | str:
    """A :class:`Rule`, or the id string of a rule to disable (``enabled = false``)."""
    if not isinstance(raw, dict):
        raise _err(src, f"rule #{index + 1}", "must be a table ([[rule]])")
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid.strip():
        raise _err(src, f"rule #{index + 1}", "key 'id' (a non-empty string) is required")
    where = f"rule '{rid}'"
    for key, value in raw.items():
        if key not in _RULE_KEYS:
            raise _err(src, where, f"unknown key '{key}' (known: {', '.join(sorted(_RULE_KEYS))})")
        types = _RULE_KEYS[key]
        if isinstance(value, bool) and bool not in types:
            raise _err(src, where, f"key '{key}' has the wrong type (bool)")
        if not isinstance(value, types):
            names = "/".join(t.__name__ for t in types)
            raise _err(src, where, f"key '{key}' must be {names}, not {type(value).__name__}")
    if raw.get("enabled", True) is False:
        return rid
    rtype = raw.get("type", "phrase")
    if rtype not in RULE_TYPES:
        raise _err(src, where, f"key 'type' must be one of {', '.join(RULE_TYPES)}, not {rtype!r}")
    speaker = raw.get("speaker", "both" if rtype == "exchange" else None)
    allowed = ("agent", "customer", "both") if rtype == "exchange" else SPEAKERS
    if speaker not in allowed:
        raise _err(src, where, f"key 'speaker' must be one of {', '.join(allowed)}, not {speaker!r}")
    for key in ("patterns", "headline", "detail", "severity"):
        if key not in raw:
            raise _err(src, where, f"key '{key}' is required")
    severity = raw["severity"]
    if severity not in SEVERITIES:
        raise _err(src, where, f"key 'severity' must be one of low, medium, high, not {severity!r}")
    headline = raw["headline"].strip()
    if not headline or len(headline.split()) > 3:
        raise _err(src, where, f"key 'headline' must be two words (at most three), not {headline!r}")
    detail = raw["detail"].strip()
    if not detail or "\n" in detail:
        raise _err(src, where, "key 'detail' must be one non-empty line")
    patterns = _compile_list(src, where, "patterns", raw["patterns"], normalizer=normalizer)
    if not patterns:
        raise _err(src, where, "key 'patterns' must not be empty")
    unless = _compile_list(src, where, "unless_earlier", raw.get("unless_earlier", []), normalizer=normalizer)
    kw: dict[str, Any] = {}
    for key in ("after_other_s", "early_escalation_s", "within_s", "after_satisfied_s", "window_s", "refire_s"):
        if key in raw:
            kw[key] = _num(src, where, key, raw[key])
    for key in ("after_other_words", "min_turns", "min_each"):
        if key in raw:
            kw[key] = int(_num(src, where, key, raw[key]))
    if rtype == "absence" and "within_s" not in kw:
        raise _err(src, where, "key 'within_s' is required for type 'absence'")
    only_esc = raw.get("only_escalated", rtype == "absence" and not any(p.uses_name for p in patterns))
    rank = raw.get("rank", 0)
    if not 0 <= rank <= 100:
        raise _err(src, where, f"key 'rank' must be a whole number from 0 to 100, not {rank!r}")
    return Rule(
        id=rid,
        type=rtype,
        speaker=str(speaker),
        patterns=patterns,
        headline=headline,
        detail=detail,
        severity=severity,
        description=raw.get("description", "").strip(),
        only_escalated=only_esc,
        unless_earlier=unless,
        source=src,
        rank=rank,
        **kw,
    )


def _apply_file(
    src: str,
    doc: dict[str, Any],
    rules: dict[str, Rule],
    settings: dict[str, Any],
    name: dict[str, Any],
    language: str = "en",
) -> None:
    norm_word, norm_text = normalizers(language)
    for key in doc:
        if key not in _TOP_KEYS:
            raise _err(src, f"key '{key}'", f"unknown top-level key (known: {', '.join(sorted(_TOP_KEYS))})")
    if "version" in doc and doc["version"] != 1:
        raise _err(src, "key 'version'", f"unsupported version {doc['version']!r} (this calmcall reads 1)")
    sett = doc.get("settings", {})
    if not isinstance(sett, dict):
        raise _err(src, "key 'settings'", "must be a table")
    for key, value in sett.items():
        if key not in _SETTINGS_KEYS:
            raise _err(src, f"settings.{key}", f"unknown key (known: {', '.join(_SETTINGS_KEYS)})")
        settings[key] = _num(src, f"settings.{key}", key, value)
        if key == "name_min_len":
            if not isinstance(value, int):
                raise _err(src, f"settings.{key}", f"key '{key}' must be a whole number")
            settings[key] = int(value)
    nm = doc.get("name", {})
    if not isinstance(nm, dict):
        raise _err(src, "key 'name'", "must be a table")
    for key, value in nm.items():
        if key not in _NAME_KEYS:
            raise _err(src, f"name.{key}", f"unknown key (known: {', '.join(sorted(_NAME_KEYS))})")
    if "patterns" in nm:
        name["patterns"] = _compile_list(src, "name", "patterns", nm["patterns"], allow_capture=True, normalizer=norm_word)
        for p in name["patterns"]:
            if not p.captures:
                raise _err(src, "name", f"patterns: pattern {p.source!r} has no {{name}} or {{Name}}")
    if "stopwords" in nm:
        sw = nm["stopwords"]
        if not isinstance(sw, list) or not all(isinstance(s, str) for s in sw):
            raise _err(src, "name.stopwords", "must be a list of strings")
        name["stopwords"] = name.get("stopwords", frozenset()) | {t for s in sw for t in norm_text(s)}
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list):
        raise _err(src, "key 'rule'", "must be an array of tables ([[rule]])")
    seen: set[str] = set()
    for i, raw in enumerate(raw_rules):
        parsed = _parse_rule(src, i, raw, norm_word)
        rid = parsed if isinstance(parsed, str) else parsed.id
        if rid in seen:
            raise _err(src, f"rule '{rid}'", "id defined twice in this file")
        seen.add(rid)
        if isinstance(parsed, str):
            rules.pop(parsed, None)
        else:
            rules[rid] = parsed


def _builtin_text(language: str = "en") -> str:
    return resources.files(__package__).joinpath(BUILTIN_PATHS[language]).read_text(encoding="utf-8")


def load_playbook(extra: Iterable[Path | str] = (), replace: bool = False, language: str = "en") -> Playbook:
    """Load the built-in playbook plus user rule files.

    Each file in ``extra`` adds rules or overrides built-in ones with the same ``id``
    (a rule with only ``id`` and ``enabled = false`` removes one); its ``[settings]``
    keys override the built-in settings and its ``[name]`` table replaces the name
    patterns (stopwords are added). ``replace=True`` drops the built-in *rules*
    (settings and name patterns stay). ``language`` (``en``/``fr``) picks the
    built-in file and the normaliser of every file's patterns (a French user file
    is written like ``playbook_fr.toml``). Raises :class:`PlaybookError`.
    """
    normalizers(language)  # refuses an unknown language
    rules: dict[str, Rule] = {}
    settings: dict[str, Any] = {}
    name: dict[str, Any] = {"stopwords": NAME_STOPWORDS_FR if language == "fr" else NAME_STOPWORDS}
    builtin_src = f"<builtin {BUILTIN_PATHS[language]}>"
    _apply_file(builtin_src, _read_toml(builtin_src, _builtin_text(language)), rules, settings, name, language)
    if replace:
        rules.clear()
    sources = [builtin_src]
    for path in extra:
        src = str(path)
        _apply_file(src, _read_toml(path), rules, settings, name, language)
        sources.append(src)
    return Playbook(
        rules=tuple(rules.values()),
        settings=Settings(**settings),
        name_patterns=name.get("patterns", ()),
        name_stopwords=frozenset(name["stopwords"]),
        sources=tuple(sources),
        language=language,
    )


def check_playbook_files(files: Iterable[Path | str] | None, *, replace: bool = False, language: str = "en") -> None:
    """Load ``files`` only for their errors (:class:`PlaybookError`): a malformed
    ``--playbook`` is refused even where no phrase coach is built (``--no-transcribe``)."""
    if files:
        load_playbook(extra=files, replace=replace, language=language)


# ---------------------------------------------------------------- the coach

#: Titles that are not part of a customer's name (English and French, normalised).
_TITLES = frozenset(("mr", "mrs", "ms", "miss", "dr", "monsieur", "madame", "mademoiselle"))


@dataclass
class _Utterance:
    words: list[Word] = field(default_factory=list)
    toks: list[Tok] = field(default_factory=list)
    done: set[tuple[str, int]] = field(default_factory=set)  # (listener key, start token)


@dataclass
class _Listener:
    key: str
    speaker: str  # agent | customer | both
    patterns: tuple[Pattern, ...]
    rule: Rule | None
    role: str  # phrase | satisfy | earlier | marker | name


class PhraseCoach:
    """Applies a :class:`Playbook` to one call's committed (already masked) words.

    ``on_word(word, customer_escalated)`` for every committed Word of either speaker,
    in commit order; ``tick(now_s, customer_escalated)`` regularly (e.g. every 0.25-1 s
    of audio) for the time-based rules and to close utterances that went quiet.
    Both return candidate :class:`~calmcall.events.Prompt` (kind ``"phrase"``).
    """

    def __init__(self, playbook: Playbook, customer_name: str | None = None):
        self.playbook = playbook
        self.settings = playbook.settings
        self._normalize_word, self._normalize_text = normalizers(playbook.language)
        self._utt: dict[str, _Utterance] = {s: _Utterance() for s in SPEAKERS}
        self._last_word: dict[str, Word | None] = {s: None for s in SPEAKERS}
        self._turn_words: dict[str, int] = {s: 0 for s in SPEAKERS}
        self._turn_id: dict[str, int] = {s: 0 for s in SPEAKERS}
        self._prev_speaker: str | None = None
        self._escalated = False
        self._escalated_since: float | None = None
        self._names: frozenset[str] = frozenset()
        self._name_display: str | None = None
        self._name_since: float | None = None
        self._last_fired: dict[str, float] = {}
        self._satisfied: dict[str, float] = {}  # absence rule -> last time satisfied
        self._earlier: set[str] = set()  # rules whose unless_earlier was said
        self._markers: dict[str, list[tuple[str, int, float, list[Word]]]] = {}
        self._listeners: list[_Listener] = []
        for r in playbook.rules:
            role = {"phrase": "phrase", "absence": "satisfy", "exchange": "marker"}[r.type]
            self._listeners.append(_Listener(r.id, r.speaker, r.patterns, r, role))
            if r.unless_earlier:
                self._listeners.append(_Listener(r.id + "#earlier", r.speaker, r.unless_earlier, r, "earlier"))
        if playbook.name_patterns:
            self._listeners.append(_Listener("#name", "customer", playbook.name_patterns, None, "name"))
        if customer_name:
            self.set_customer_name(customer_name, 0.0)

    # ------------------------------------------------------------ public

    @property
    def customer_name(self) -> str | None:
        return self._name_display

    def set_customer_name(self, name: str, t_s: float) -> None:
        """Make ``name`` (e.g. "Jane Smith") the customer's name from ``t_s`` on."""
        toks = frozenset(
            t for t in self._normalize_text(name) if t.isalpha() and len(t) >= self.settings.name_min_len and t not in _TITLES
        )
        if not toks:
            return
        self._names = toks
        self._name_display = " ".join(w[:1].upper() + w[1:] for w in name.split())
        self._name_since = t_s

    def on_word(self, word: Word, customer_escalated: bool = False) -> list[Prompt]:
        if not isinstance(word, Word) or word.speaker not in SPEAKERS:
            return []
        t = word.t_s
        out: list[Prompt] = []
        self._update_escalation(customer_escalated, t)
        spk = word.speaker
        other = "customer" if spk == "agent" else "agent"
        # the other speaker's utterance is over once this one starts after it
        lo = self._last_word[other]
        if lo is not None and self._utt[other].toks and word.start_s >= lo.end_s:
            out += self._close(other, t)
        # this speaker paused long enough: a new utterance
        ls = self._last_word[spk]
        if ls is not None and self._utt[spk].toks and word.start_s - ls.end_s > self.settings.utterance_gap_s:
            out += self._close(spk, t)
        if self._prev_speaker != spk:
            self._turn_id[spk] += 1
            self._turn_words[spk] = 0
        self._prev_speaker = spk
        self._turn_words[spk] += 1
        # tokens
        u = self._utt[spk]
        idx = len(u.words)
        u.words.append(word)
        toks, cap, end = self._normalize_word(word.text)
        for tok in toks:
            u.toks.append(Tok(tok, idx, cap))
        if end is not None:
            u.toks.append(Tok("", idx, False, end))
        self._last_word[spk] = word
        out += self._scan(spk, t, closed=False)
        out += self._timers(t)
        return out

    def tick(self, now_s: float, customer_escalated: bool = False) -> list[Prompt]:
        out: list[Prompt] = []
        self._update_escalation(customer_escalated, now_s)
        for spk in SPEAKERS:
            lw = self._last_word[spk]
            if lw is not None and self._utt[spk].toks and now_s - lw.t_s >= self.settings.settle_s:
                out += self._close(spk, now_s)
        out += self._timers(now_s)
        return out

    def finish(self, now_s: float) -> list[Prompt]:
        """End of call: close open utterances (no timers)."""
        out: list[Prompt] = []
        for spk in SPEAKERS:
            if self._utt[spk].toks:
                out += self._close(spk, now_s)
        return out

    # ------------------------------------------------------------ internals

    def _update_escalation(self, escalated: bool, t: float) -> None:
        if escalated and not self._escalated:
            self._escalated_since = t
        elif not escalated:
            self._escalated_since = None
        self._escalated = bool(escalated)

    def _close(self, spk: str, t: float) -> list[Prompt]:
        out = self._scan(spk, t, closed=True)
        self._utt[spk] = _Utterance()
        return out

    def _ctx(self, closed: bool) -> MatchContext:
        return MatchContext(closed=closed, names=self._names, name_stopwords=self.playbook.name_stopwords)

    def _scan(self, spk: str, t: float, closed: bool) -> list[Prompt]:
        u = self._utt[spk]
        n = len(u.toks)
        out: list[Prompt] = []
        # satisfiers/trackers first, so a solution attempt or an acknowledgement in the
        # same breath counts before the phrase rules look at it
        order = sorted(self._listeners, key=lambda li: li.role == "phrase" or li.role == "marker")
        for li in order:
            if li.speaker not in (spk, "both"):
                continue
            for pat in li.patterns:
                if pat.uses_name and not self._names:
                    continue
                for start in range(max(0, n - pat.span - 1), n):
                    if (li.key, start) in u.done:
                        continue
                    ctx = self._ctx(closed)
                    m = pat.match_at(u.toks, start, ctx)
                    if m is None:
                        continue
                    end, caps = m
                    u.done.add((li.key, start))
                    words = self._words_of(u, start, end)
                    out += self._on_match(li, pat, spk, words, caps, t)
        return out

    @staticmethod
    def _words_of(u: _Utterance, start: int, end: int) -> list[Word]:
        idxs: list[int] = []
        for tok in u.toks[start:end]:
            if tok.boundary is None and (not idxs or idxs[-1] != tok.word):
                idxs.append(tok.word)
        if not idxs and start < len(u.toks):
            idxs.append(u.toks[start].word)
        return [u.words[i] for i in idxs]

    def _on_match(self, li: _Listener, pat: Pattern, spk: str, words: list[Word], caps: dict, t: float) -> list[Prompt]:
        if li.role == "name":
            name = caps.get("name")
            if name and name not in self._names:
                src_word = next((w for w in words if name in self._normalize_word(w.text)[0]), None)
                self.set_customer_name(src_word.text.strip(" .,!?\"'") if src_word else name, t)
            return []
        rule = li.rule
        assert rule is not None
        if li.role == "satisfy":
            self._satisfied[rule.id] = t
            return []
        if li.role == "earlier":
            self._earlier.add(rule.id)
            return []
        if li.role == "marker":
            return self._on_marker(rule, spk, words, t)
        # phrase rule
        if not self._conditions_ok(rule, words, spk, t):
            return []
        return self._fire(rule, t, words, pattern=pat.source, speaker=spk)

    def _conditions_ok(self, rule: Rule, words: list[Word], spk: str, t: float) -> bool:
        if rule.only_escalated and not self._escalated:
            return False
        if rule.after_other_s is not None:
            other = "customer" if spk == "agent" else "agent"
            lo = self._last_word[other]
            if lo is None or not words:
                return False
            if words[0].start_s - lo.end_s > rule.after_other_s:
                return False
            if self._turn_words[other] < rule.after_other_words:
                return False
        if rule.unless_earlier or rule.early_escalation_s is not None:
            early = False
            if rule.unless_earlier and rule.id not in self._earlier:
                early = True
            if (
                rule.early_escalation_s is not None
                and self._escalated
                and self._escalated_since is not None
                and t - self._escalated_since < rule.early_escalation_s
            ):
                early = True
            if not early:
                return False
        return True

    def _on_marker(self, rule: Rule, spk: str, words: list[Word], t: float) -> list[Prompt]:
        if rule.only_escalated and not self._escalated:
            return []
        evs = self._markers.setdefault(rule.id, [])
        key = (spk, self._turn_id[spk])
        if any((e[0], e[1]) == key for e in evs):
            return []
        evs.append((spk, self._turn_id[spk], t, words))
        evs[:] = [e for e in evs if t - e[2] <= rule.window_s]
        per = {s: sum(1 for e in evs if e[0] == s) for s in SPEAKERS}
        if len(evs) >= rule.min_turns and all(per[s] >= rule.min_each for s in SPEAKERS):
            all_words = [w for e in evs for w in e[3]]
            fired = self._fire(rule, t, all_words, turns=len(evs), window_s=rule.window_s)
            if fired:
                evs.clear()
            return fired
        return []

    def _timers(self, now: float) -> list[Prompt]:
        out: list[Prompt] = []
        for rule in self.playbook.rules:
            if rule.type != "absence" or rule.within_s is None:
                continue
            # (start of the clock, wait) pairs; the rule fires when every wait is over
            clocks: list[tuple[float, float]] = []
            if rule.only_escalated:
                if not self._escalated or self._escalated_since is None:
                    continue
                clocks.append((self._escalated_since, rule.within_s))
            if rule.uses_name:
                if self._name_since is None:
                    continue
                clocks.append((self._name_since, rule.within_s))
            if not clocks:
                clocks.append((0.0, rule.within_s))
            sat = self._satisfied.get(rule.id)
            if sat is not None:
                after = rule.after_satisfied_s if rule.after_satisfied_s is not None else rule.within_s
                clocks.append((sat, after))
            last = self._last_fired.get(rule.id)
            if last is not None:
                clocks.append((last, rule.within_s))
            if all(now - since >= wait for since, wait in clocks):
                since = max(since for since, _ in clocks)
                out += self._fire(rule, now, [], since_s=round(since, 3), waited_s=round(now - since, 3))
        return out

    def _fire(self, rule: Rule, t: float, words: Sequence[Word], **extra: Any) -> list[Prompt]:
        refire = rule.refire_s if rule.refire_s is not None else self.settings.refire_s
        last = self._last_fired.get(rule.id)
        if last is not None and t - last < refire:
            return []
        self._last_fired[rule.id] = t
        detail = rule.detail
        if self._name_display and "{name}" in detail:
            if self._name_display.split()[0].lower() in _TITLES:  # "Madame Dupont": no second title
                detail = re.sub(r"\b\w+/\w+ \{name\}", "{name}", detail)
            detail = detail.replace("{name}", self._name_display)
        evidence: dict[str, Any] = {
            "rule": rule.id,
            "rank": rule.rank,
            "words": [{"text": w.text.strip(), "start_s": w.start_s, "end_s": w.end_s} for w in words],
        }
        if words:
            evidence["speaker"] = words[0].speaker
        if rule.uses_name and self._name_display:
            evidence["name"] = self._name_display
        evidence.update({k: v for k, v in extra.items() if v is not None and k != "speaker"})
        return [Prompt(t_s=t, kind="phrase", headline=rule.headline, detail=detail, severity=rule.severity, evidence=evidence)]


class LanguageRoutedCoach:
    """The phrase coach of an ``--language auto`` call: one :class:`PhraseCoach` per
    language, fed once the call's :class:`~calmcall.asr.language.LanguageLock` has
    decided. Words committed before that (a short first utterance) are held and
    replayed into the chosen coach; a call that ends undecided is coached in English.
    Same interface as :class:`PhraseCoach` (``on_word``, ``tick``, ``finish``).
    """

    def __init__(self, coaches: dict[str, PhraseCoach], lock: Any, fallback: str = "en") -> None:
        self.coaches = coaches
        self.lock = lock
        self.fallback = fallback
        self._held: list[tuple[Word, bool]] = []

    def _coach(self, final: bool = False) -> PhraseCoach | None:
        lang = self.lock.language
        if lang is None and final:
            lang = self.fallback
        return self.coaches.get(lang) if lang is not None else None

    def _replay(self, coach: PhraseCoach) -> list[Prompt]:
        out: list[Prompt] = []
        held, self._held = self._held, []
        for w, esc in held:
            out += coach.on_word(w, customer_escalated=esc)
        return out

    @property
    def customer_name(self) -> str | None:
        coach = self._coach()
        return coach.customer_name if coach is not None else None

    def on_word(self, word: Word, customer_escalated: bool = False) -> list[Prompt]:
        coach = self._coach()
        if coach is None:
            self._held.append((word, customer_escalated))
            return []
        return self._replay(coach) + coach.on_word(word, customer_escalated=customer_escalated)

    def tick(self, now_s: float, customer_escalated: bool = False) -> list[Prompt]:
        coach = self._coach()
        if coach is None:
            return []
        return self._replay(coach) + coach.tick(now_s, customer_escalated=customer_escalated)

    def finish(self, now_s: float) -> list[Prompt]:
        coach = self._coach(final=True)
        assert coach is not None
        return self._replay(coach) + coach.finish(now_s)
