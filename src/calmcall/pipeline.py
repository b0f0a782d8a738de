"""The core: audio blocks in, timestamped events out.

:class:`Pipeline` is synchronous and deterministic. It keeps per-speaker trackers
and baselines, the customer's state, overtalk detection, the optional phrase
playbook and card masking, and one :class:`~calmcall.coach.Coach` that decides
which prompt is shown. All decisions happen on a fixed grid of audio time (every
``EVAL_FRAMES`` frames = 0.1 s), so the same audio gives the same events whatever
block size the caller uses (live capture or file replay).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .baseline import BaselineLearner, SpeechStats
from .coach import Coach, HoldTimer
from .config import Config
from .escalation import RATE_RANGE_SYL_S, RiseTracker, describe
from .events import Baseline, BaselineReady, CustomerState, Event, Measures, Partial, Prompt, Speaker, Word
from .overtalk import OvertalkDetector
from .pace import (
    PLAUSIBLE_WPM,
    SHORT_MIN_WORDS,
    SHORT_WINDOW_S,
    PaceReading,
    WordPace,
    plausible_wpm,
    stretches,
    words_over_elapsed,
)
from .prosody import HOP_S, FrameMeasure, SpeakerTracker

log = logging.getLogger(__name__)

EVAL_FRAMES = 10  #: conditions are evaluated every 10 frames (0.1 s of audio)
MIN_CALIBRATION_WORDS = 8  #: transcribed words needed to give a learned baseline its wpm
MIN_CALIBRATION_ELAPSED_S = 3.0  #: elapsed speech time (stretches of words) needed for the calm wpm
#: unsettled word-pace readings (under ~9 s / 40 syllables) need this much more excess,
#: divided by sqrt(syllables): about one standard error of a rate over n syllables
#: (syllable durations vary by ~50 % around their mean)
PACE_UNSETTLED_CV = 0.35


def semitones(f_hz: float, ref_hz: float) -> float:
    """Interval from ``ref_hz`` to ``f_hz`` in semitones (12 per octave)."""
    return 12.0 * float(np.log2(f_hz / ref_hz))


class _SpeakerState:
    def __init__(self, speaker: Speaker, cfg: Config, learn_s: float, baseline: Baseline | None) -> None:
        self.speaker = speaker
        self.tracker = SpeakerTracker(cfg.measure)
        self.learner = BaselineLearner(learn_s, cfg.baseline, gate_floor_db=cfg.measure.vad_floor_db)
        self.baseline = baseline
        from .norms import syllable_counter  # per-language syllable rules (calmcall.norms)

        self.words = WordPace(syllable_fn=syllable_counter(cfg.language.call))  # pace from committed words (calmcall.pace)
        self.calm_pace: tuple[float, float] | None = None  # calm (wpm, syllables/s of the words' text)
        self.calm_pace_refused: dict[str, Any] | None = None  # why a learned calm pace was not used
        self.stats = SpeechStats()  # whole call
        self.in_band_frames = 0
        self.rated_frames = 0
        self.baseline_t_s: float | None = None
        # words kept until the learned baseline's wpm is known (None: not collecting)
        self.calib_words: list[Word] | None = [] if baseline is None else None

    @property
    def baseline_status(self) -> str:
        """``"profile"``, ``"learned"`` or ``"still learning (reason)"``."""
        if self.baseline is not None:
            return "profile" if self.baseline.source == "profile" else "learned"
        return self.learner.status

    def nuclei_per_word(self, default: float) -> float:
        """Syllable nuclei per word of this speaker: from the calm baseline's syllable
        rate and its transcribed wpm when the wpm is a plausible calm pace, else
        ``default``. (Only for the rough acoustic wpm in a prompt's evidence: the two
        rates use different time bases, speech time and elapsed time.)"""
        b = self.baseline
        if b is not None and plausible_wpm(b.wpm) and b.rate_syl_s > 0:
            return b.rate_syl_s * 60.0 / b.wpm  # type: ignore[operator]
        return default

    @property
    def word_pace_judged(self) -> bool:
        """Whether the word pace may be judged now: a calm word pace is known, or none
        will come (a profile's baseline, or a calibration that ended without a plausible
        calm pace: the ceiling applies). Not while the baseline is learned (the learning
        window is taken to be calm speech: a cue there contradicts the baseline it is
        learning) nor while its calm pace waits for the transcript (the ceiling would
        judge the calm opening against a fixed figure: 18 of 43 unjustified prompts
        on the dev calls, 3.8-15 s into the call); the acoustic pace applies meanwhile."""
        if self.calm_pace is not None:
            return True
        return self.baseline is not None and self.calib_words is None

    def calm_wpm(self) -> float | None:
        """The calm pace in words per minute over elapsed time, when it is plausible
        (90-260 wpm); ``None`` otherwise. The only calm pace a cue may quote."""
        if self.calm_pace is not None:
            return self.calm_pace[0]
        b = self.baseline
        return b.wpm if b is not None and plausible_wpm(b.wpm) else None

    def calibrate_wpm(self, now_s: float) -> BaselineReady | None:
        """Give a learned baseline its calm pace, from the transcribed words spoken
        while it was learned, once they are all in (a later word arrived, or 10 s
        passed): words (and their syllables) over the elapsed time of their stretches
        (pauses up to 2 s included; :mod:`calmcall.pace`). Accepted only within
        90-260 wpm; outside, the calm pace stays unknown and :attr:`calm_pace_refused`
        says why (in the analyze JSON's ``measures``, the log and every pace cue's
        evidence). Returns the updated baseline event, or None."""
        b, t_b, words = self.baseline, self.baseline_t_s, self.calib_words
        if b is None or t_b is None or words is None or b.wpm is not None:
            return None
        if not (any(w.start_s >= t_b for w in words) or now_s >= t_b + 10.0):
            return None
        self.calib_words = None
        sel = [w for w in words if w.end_s <= t_b + 0.05]
        n_words = n_syl = 0
        elapsed_s = 0.0
        for part in stretches(sel):
            r = words_over_elapsed(part, self.words.syllable_fn)
            if r is not None:
                n_words, n_syl, elapsed_s = n_words + r[2], n_syl + r[3], elapsed_s + r[4]
        if n_words < MIN_CALIBRATION_WORDS or elapsed_s < MIN_CALIBRATION_ELAPSED_S:
            return None
        wpm = 60.0 * n_words / elapsed_s
        if not plausible_wpm(wpm):
            self.calm_pace_refused = {
                "t_s": round(now_s, 3),
                "wpm": round(float(wpm), 1),
                "words": n_words,
                "elapsed_s": round(elapsed_s, 2),
                "reason": f"{wpm:.0f} wpm is outside the plausible {PLAUSIBLE_WPM[0]:.0f}-{PLAUSIBLE_WPM[1]:.0f} wpm "
                "for a calm pace (voice activity or transcript wrong): not used; the word pace is "
                "judged against the absolute ceiling instead",
            }
            log.warning("%s calm pace not used: %s", self.speaker, self.calm_pace_refused["reason"])
            return None
        self.calm_pace = (wpm, n_syl / elapsed_s)
        self.baseline = Baseline(b.f0_hz, b.level_db, b.rate_syl_s, round(float(wpm), 1), b.speech_s, b.source)
        return BaselineReady(t_s=now_s, speaker=self.speaker, baseline=self.baseline)

    def relative(self) -> dict[str, float | None]:
        """Current windowed measures and their values relative to the baseline."""
        t = self.tracker
        f0, level, rate = t.f0_hz, t.level_db, t.rate_syl_s
        b = self.baseline
        return {
            "f0_hz": f0,
            "level_db": level,
            "rate_syl_s": rate,
            "pitch_st": semitones(f0, b.f0_hz) if (b and f0) else None,
            "level_rel_db": level - b.level_db if (b and level is not None) else None,
            "rate_rel": rate / b.rate_syl_s if (b and rate is not None and b.rate_syl_s > 0) else None,
        }


class Pipeline:
    """Feed audio blocks in order; get events stamped in audio seconds.

    Parameters
    ----------
    config : Config
    has_customer : whether a customer channel is fed (stereo call / second device).
    agent_baseline : a calm baseline from a profile; learned from the call if None.
    phrase_coach : optional object with ``on_word(word, customer_escalated=)`` and
        ``tick(now_s, customer_escalated=)`` returning candidate phrase prompts
        (see :mod:`calmcall.text.playbook`).
    mask_cards : mask payment card numbers in words (always on, except for words that
        were masked already: a replay of a session's logged words, or a test that needs
        the raw words).
    """

    def __init__(
        self,
        config: Config,
        *,
        has_customer: bool,
        agent_baseline: Baseline | None = None,
        phrase_coach: Any | None = None,
        mask_cards: bool = True,
    ) -> None:
        self.cfg = config
        self.has_customer = has_customer
        self.coach = Coach(config.coach)
        self.phrase_coach = phrase_coach
        self._spk: dict[str, _SpeakerState] = {
            "agent": _SpeakerState("agent", config, config.baseline.agent_speech_s, agent_baseline)
        }
        if has_customer:
            self._spk["customer"] = _SpeakerState("customer", config, config.baseline.customer_speech_s, None)
        self._mask_cards = mask_cards
        self._maskers: dict[str, Any] = {}
        self._mask_text: Any = None
        t = config.targets
        hold_s = {"pace": t.pace_hold_s, "pace_acoustic": t.acoustic_pace_hold_s, "pitch": t.hold_s, "volume": t.hold_s}
        self._holds = {k: HoldTimer(hold_s=h, release_gap_s=t.release_gap_s) for k, h in hold_s.items()}
        self._agent_excess: dict[str, float] | None = None  # the agent's excess at the last evaluation
        c = config.customer
        self._cust_hold = HoldTimer(hold_s=c.hold_s, release_gap_s=t.release_gap_s)
        self._cust_rise = RiseTracker(window=max(1, round(c.robust_window_s / (EVAL_FRAMES * HOP_S))))
        self.customer_escalated = False
        self._escalation_prompted = True
        self._last_raised_s = -1e9
        self._n_frames = 0
        self._next_measures_s = config.measure.measures_interval_s
        # overtalk (turn-taking rules: calmcall.overtalk)
        # the speech decision (Silero gate AND energy gate) runs up to the longer hangover past the speech
        self.overtalk = OvertalkDetector(
            config.overtalk, release_s=max(config.measure.vad_hangover_s, config.measure.speech_hangover_s)
        )
        self.t_s = 0.0
        self._pending: list[Event] = []

    # ------------------------------------------------------------------ audio
    def feed(self, blocks: Mapping[str, np.ndarray]) -> list[Event]:
        """Feed equally long blocks of 16 kHz float32 mono audio per role
        (``"agent"``, and ``"customer"`` when ``has_customer``). Returns the events
        that became known within these samples, in time order."""
        if "agent" not in blocks:
            raise ValueError("blocks must contain 'agent' audio")
        if self.has_customer and "customer" not in blocks:
            raise ValueError("this pipeline has a customer channel: pass blocks['customer'] too")
        n = len(blocks["agent"])
        if self.has_customer and len(blocks["customer"]) != n:
            raise ValueError(f"agent and customer blocks differ in length ({n} vs {len(blocks['customer'])} samples)")
        # per-frame values first; the windowed statistics advance frame by frame below,
        # so a decision at a frame never sees later audio of the same block
        # both channels' front ends first, so each channel's echo check sees the other's
        fronts = {role: st.tracker.front.feed(blocks[role]) for role, st in self._spk.items()}
        frames = {
            role: st.tracker.measure_front(blocks[role], fronts[role], far=fronts.get("customer" if role == "agent" else "agent"))
            for role, st in self._spk.items()
        }
        out: list[Event] = self._pending
        self._pending = []
        agent_frames = frames["agent"]
        cust_frames = frames.get("customer")
        for i, af in enumerate(agent_frames):
            cf = cust_frames[i] if cust_frames is not None else None
            self._n_frames += 1
            self.t_s = af.t_s
            out += self._on_frame("agent", af)
            if cf is not None:
                out += self._on_frame("customer", cf)
                out += self._overtalk(af, cf)
            if self._n_frames % EVAL_FRAMES == 0:
                out += self._evaluate(af.t_s)
            if af.t_s + 1e-9 >= self._next_measures_s:
                out += self._measures(af.t_s)
                self._next_measures_s += self.cfg.measure.measures_interval_s
        return out

    def _on_frame(self, role: str, f: FrameMeasure) -> list[Event]:
        st = self._spk[role]
        st.tracker.push(f)
        st.stats.add(f)
        if st.baseline is None:
            b = st.learner.update(f)
            if b is not None:
                return [self._set_baseline(st, b, f.t_s)]
        return []

    def _set_baseline(self, st: _SpeakerState, b: Baseline, t_s: float) -> BaselineReady:
        """The learned baseline; its wpm follows from the transcript later
        (:meth:`_SpeakerState.calibrate_wpm`, a second ``baseline`` event)."""
        st.baseline = b
        st.baseline_t_s = t_s
        return BaselineReady(t_s=t_s, speaker=st.speaker, baseline=b)

    def _overtalk(self, af: FrameMeasure, cf: FrameMeasure) -> list[Event]:
        p = self.overtalk.update(
            af, cf, agent_level_db=self._spk["agent"].stats.level_db, customer_level_db=self._spk["customer"].stats.level_db
        )
        out: list[Event] = []
        if p is not None:
            out += self.coach.offer([p])
        return out

    # ------------------------------------------------------------ decisions
    def _evaluate(self, t: float) -> list[Event]:
        out: list[Event] = []
        cands: list[Prompt] = []
        if "customer" in self._spk:
            out += self._customer(t, cands)
        cands += self._agent_candidates(t)
        for m in self._maskers.values():
            if m.holding:
                out += self._release_words(m.poll(t), cands)
        if self.phrase_coach is not None:
            cands += self.phrase_coach.tick(t, customer_escalated=self.customer_escalated)
        out += self.coach.offer(cands, now_s=t)
        return out

    def _customer(self, t: float, cands: list[Prompt]) -> list[Event]:
        """The caller's state from bounded, robust rises over their baseline
        (:mod:`calmcall.escalation`); nothing is raised while the caller has no
        trusted baseline (``baseline is None``)."""
        st = self._spk["customer"]
        c = self.cfg.customer
        active = st.tracker.active
        rise = self._cust_rise.update(st.relative(), st.baseline, active=active)
        margins = {"level_rel_db": c.volume_margin_db, "pitch_st": c.pitch_margin_st, "rate_rel": 1 + c.pace_margin}
        raised = {k: v for k, v in rise.items() if v is not None and v >= margins[k]}
        cond = st.baseline is not None and len(raised) >= c.min_raised
        since = self._cust_hold.update(t, active=active, condition=cond)
        out: list[Event] = []
        if cond and active:
            self._last_raised_s = t
        if since is not None and not self.customer_escalated:
            self.customer_escalated = True
            self._escalation_prompted = False
            out.append(CustomerState(t_s=t, state="escalated", evidence={"since_s": round(since, 3), **_r(raised)}))
        elif self.customer_escalated and t - self._last_raised_s >= c.calm_after_s:
            self.customer_escalated = False
            out.append(CustomerState(t_s=t, state="calm", evidence={"calm_for_s": round(t - self._last_raised_s, 3)}))
        if self.customer_escalated and not self._escalation_prompted and since is not None:
            cands.append(
                Prompt(
                    t_s=t,
                    kind="customer_escalation",
                    headline="Caller escalating",
                    detail=f"Caller is {describe(raised)} than at the start - let them finish, then answer low and slow",
                    severity="high",
                    evidence={"since_s": round(since, 3), **_r(raised)},
                )
            )
        return out

    def _pace(
        self, st: _SpeakerState, t: float, rate_rel: float | None, margins: Mapping[str, float], voice_excess: float = 0.0
    ) -> dict[str, Any]:
        """The pace measure in use now and its excess in margins (>= 1: outside the band).

        With committed words in the current stretch: syllables of the words over
        elapsed time against the calm pace in the same unit, or, while no plausible
        calm pace is known, words per minute against the absolute ceiling. Two
        windows, the larger excess counts: the pace's 9 s window, and the last 2.5 s
        with at least 6 words (a fast stretch shows there first). A reading that is not settled (under
        9 s and 40 syllables) needs about one standard error more:
        ``PACE_UNSETTLED_CV / sqrt(syllables)``. ``excess`` (the band and the
        condition) is net of that allowance; ``magnitude`` (the cue's severity and
        strength) is the plain excess over the margin: the allowance decides whether,
        not how much. Without words: the acoustic syllable rate against the calm
        rate, with the wider ``acoustic_pace`` margin; no excess where the rate is implausible
        for running speech (outside 1.5-9 syllables/s: calmcall.escalation's range), nor while
        pitch or volume is out of its band (``voice_excess`` >= 1: the largest of their
        excesses): a raised, louder voice has sharper energy peaks, which the acoustic
        syllable count reads as more syllables (on the held-out generated calls every
        acoustic pace prompt inside a pitch or volume violation was of that kind).

        With a calm pace, the excess is the smaller of two: syllables of the words per
        second and words per minute, each against the calm pace in its unit; a cue then
        never quotes a wpm inside the band (a fast reading in syllables of a few long
        words would say "150 wpm - your calm pace is 140")."""
        tg = self.cfg.targets
        long_r: PaceReading | None = st.words.reading(t) if st.word_pace_judged else None
        if long_r is None:
            m = margins["acoustic_pace"]
            ex = (rate_rel - 1.0) / m if rate_rel is not None else 0.0
            rate = st.tracker.rate_syl_s
            if rate_rel is not None and (rate is None or not RATE_RANGE_SYL_S[0] <= rate <= RATE_RANGE_SYL_S[1]):
                # the caller's rule (calmcall.escalation): a rate no running speech has is
                # a miscount, unknown rather than extreme (no ratio bound: the scripted
                # fast turns read 2.04x their calm rate)
                ex = 0.0
            if voice_excess >= 1.0:
                ex = min(ex, 0.0)
            return {"source": "syllables", "excess": ex, "magnitude": ex, "margin": m, "reading": None, "rel": rate_rel}
        best: dict[str, Any] | None = None
        for r in (long_r, st.words.reading(t, SHORT_WINDOW_S, SHORT_MIN_WORDS)):
            if r is None:
                continue
            extra = 0.0 if r.settled else PACE_UNSETTLED_CV / math.sqrt(max(r.syllables, 1))
            m = margins["pace"]
            calm = st.calm_pace
            if calm is not None:
                rel_wpm = r.wpm / calm[0]
                rel = min(r.syl_s / calm[1], rel_wpm) if calm[1] > 0 else rel_wpm
                res = {
                    "source": "words",
                    "basis": "calm",
                    "excess": (rel - 1.0 - extra) / m,
                    "magnitude": (rel - 1.0) / m,
                    "margin": m,
                    "allowance": extra,
                    "reading": r,
                    "rel": rel,
                }
            else:
                ceiling = tg.pace_ceiling_wpm
                res = {
                    "source": "words",
                    "basis": "ceiling",
                    "margin": m,
                    "allowance": extra,
                    "reading": r,
                    "rel": None,
                    "excess": 1.0 + (r.wpm / (ceiling * (1.0 + extra)) - 1.0) / m,
                    "magnitude": 1.0 + (r.wpm / ceiling - 1.0) / m,
                }
            if best is None or res["excess"] > best["excess"]:
                best = res
        assert best is not None
        best["window_s"] = round(best["reading"].elapsed_s, 3)
        return best

    def _agent_candidates(self, t: float) -> list[Prompt]:
        st = self._spk["agent"]
        tg = self.cfg.targets
        margins = tg.margins(escalated=self.customer_escalated)
        rel = st.relative()
        active = st.tracker.active
        b = st.baseline
        cands: list[Prompt] = []
        st.words.observe(t, active)
        # pace: from words when the current stretch has committed words, else the
        # acoustic estimate (wider margin, longer hold): two hold timers
        excess = _excess(rel, margins)
        pace = self._pace(st, t, rel["rate_rel"], margins, voice_excess=max(excess["pitch"], excess["volume"]))
        excess["pace"] = pace["excess"]
        self._agent_excess = excess
        hold_w = self._holds["pace"]
        hold_a = self._holds["pace_acoustic"]
        words_now = pace["source"] == "words"
        since_w = hold_w.update(t, active=active, condition=words_now and pace["excess"] >= 1.0)
        since_a = hold_a.update(t, active=active, condition=not words_now and pace["excess"] >= 1.0)
        since = since_w if words_now else since_a
        # offered only while the reading now is out of band: the hold timer bridges
        # pauses, but a cue must name a fast reading, not the calm one after it
        if since is not None and pace["excess"] >= 1.0 and (words_now or b is not None):
            r: PaceReading | None = pace["reading"]
            calm_wpm = st.calm_wpm()
            if r is not None:
                if pace["basis"] == "calm" and calm_wpm is not None:
                    detail = f"{r.wpm:.0f} wpm - your calm pace is {calm_wpm:.0f}"
                else:
                    detail = f"{r.wpm:.0f} wpm - above the {tg.pace_ceiling_wpm:.0f} wpm ceiling"
                short = f"{r.wpm:.0f} wpm"
                ev: dict[str, Any] = {
                    "wpm": r.wpm,
                    "syl_s": r.syl_s,
                    "words": r.words,
                    "syllables": r.syllables,
                    "elapsed_s": r.elapsed_s,
                    "settled": r.settled,
                    "pace_rel": pace["rel"],
                    "calm_syl_s": st.calm_pace[1] if st.calm_pace else None,
                }
            else:
                pct = (pace["rel"] - 1.0) * 100.0
                detail = f"~{pct:.0f} % faster than your calm pace"
                short = f"pace +{pct:.0f} %"
                spw = st.nuclei_per_word(self.cfg.measure.nuclei_per_word)
                ev = {"wpm_estimate": rel["rate_syl_s"] * 60.0 / spw if rel["rate_syl_s"] else None, "pace_rel": pace["rel"]}
            cands.append(
                self._prosody_prompt(
                    t,
                    "pace",
                    "Slow down",
                    detail,
                    max(pace["magnitude"], 1.0),
                    {
                        "since_s": since,
                        "wpm_source": pace["source"],
                        "basis": pace.get("basis"),
                        **ev,
                        "calm_wpm": calm_wpm,
                        "calm_pace_refused_wpm": (st.calm_pace_refused or {}).get("wpm"),
                        "rate_syl_s": rel["rate_syl_s"],
                        "baseline_rate_syl_s": b.rate_syl_s if b else None,
                        "rate_rel": rel["rate_rel"],
                        "margin": pace["margin"],
                        "allowance": pace.get("allowance"),
                        "ceiling_wpm": tg.pace_ceiling_wpm,
                        "short": short,
                    },
                )
            )
        # pitch and volume: relative only
        if b is not None:
            pitch_margin = margins["pitch"]
            st_up = rel["pitch_st"]
            pitch_excess = excess["pitch"]
            since = self._holds["pitch"].update(t, active=active, condition=pitch_excess >= 1.0)
            if since is not None and st_up is not None:
                cands.append(
                    self._prosody_prompt(
                        t,
                        "pitch",
                        "Lower pitch",
                        f"Your pitch is {st_up:+.1f} semitones above your calm level ({rel['f0_hz']:.0f} Hz vs {b.f0_hz:.0f} Hz)",
                        pitch_excess,
                        {
                            "since_s": since,
                            "pitch_st": st_up,
                            "f0_hz": rel["f0_hz"],
                            "baseline_f0_hz": b.f0_hz,
                            "margin_st": pitch_margin,
                            "short": f"pitch {st_up:+.1f} st",
                        },
                    )
                )
            vol_margin = margins["volume"]
            up_db = rel["level_rel_db"]
            vol_excess = excess["volume"]
            since = self._holds["volume"].update(t, active=active, condition=vol_excess >= 1.0)
            if since is not None and up_db is not None:
                cands.append(
                    self._prosody_prompt(
                        t,
                        "volume",
                        "Lower voice",
                        f"You are {up_db:.0f} dB louder than your calm level",
                        vol_excess,
                        {
                            "since_s": since,
                            "level_rel_db": up_db,
                            "level_db": rel["level_db"],
                            "baseline_level_db": b.level_db,
                            "margin_db": vol_margin,
                            "short": f"{up_db:+.0f} dB louder",
                        },
                    )
                )
        return cands

    def _prosody_prompt(self, t: float, kind: str, headline: str, detail: str, excess: float, evidence: dict[str, Any]) -> Prompt:
        """A pace/pitch/volume candidate: high severity from ``high_severity_factor``
        margins, low (borderline) under ``low_severity_factor``, else medium; the
        excess goes into the evidence as ``excess_margins`` (the arbiter's strength)."""
        c = self.cfg.coach
        severity = "high" if excess >= c.high_severity_factor else "low" if excess < c.low_severity_factor else "medium"
        ev = _r({k: v for k, v in evidence.items()})
        ev["excess_margins"] = round(float(excess), 3)
        ev["customer_escalated"] = self.customer_escalated
        return Prompt(t_s=t, kind=kind, headline=headline, detail=detail, severity=severity, evidence=ev)  # type: ignore[arg-type]

    def _measures(self, t: float) -> list[Event]:
        out: list[Event] = []
        margins = self.cfg.targets.margins(escalated=self.customer_escalated)
        for role, st in self._spk.items():
            rel = st.relative()
            in_band = None
            excess = None
            if role == "agent" and st.baseline is not None and st.tracker.active:
                # the band rule of the prompts (pace from words or acoustics: _pace),
                # as of the last evaluation; the call's in-band share counts these
                # same snapshots, so analyze, the scorecard and the report agree
                excess = self._agent_excess or _excess(rel, margins)
                in_band = max(excess.values()) < 1.0
                st.rated_frames += 1
                st.in_band_frames += int(in_band)
            out.append(
                Measures(
                    t_s=t,
                    speaker=role,  # type: ignore[arg-type]
                    active=st.tracker.active,
                    f0_hz=_opt(rel["f0_hz"]),
                    pitch_st=_opt(rel["pitch_st"]),
                    level_db=_opt(rel["level_db"]),
                    level_rel_db=_opt(rel["level_rel_db"]),
                    rate_syl_s=_opt(rel["rate_syl_s"]),
                    rate_rel=_opt(rel["rate_rel"]),
                    wpm=_opt(st.words.wpm(t)),
                    in_band=in_band,
                    baseline_status=st.baseline_status,
                    excess=None if in_band is None or excess is None else {k: round(float(v), 3) for k, v in excess.items()},
                )
            )
        return out

    # ------------------------------------------------------------- words
    def feed_words(self, items: Iterable[Word | Partial]) -> list[Event]:
        """Feed transcription results (any speaker, in the order they became
        available). Returns masked words/partials and any phrase prompt."""
        out: list[Event] = []
        cands: list[Prompt] = []
        self._ensure_maskers()
        for item in items:
            if isinstance(item, Partial):
                text = self._mask_text(item.text) if self._mask_text else item.text
                out.append(Partial(t_s=item.t_s, speaker=item.speaker, text=text))
                continue
            released = self._maskers[item.speaker].feed([item]) if self._maskers else [item]
            out += self._release_words(released, cands)
        out += self.coach.offer(cands)
        return out

    def _ensure_maskers(self) -> None:
        if self._mask_cards and not self._maskers:
            from .text.masking import CardMasker, MaskContext, mask_partial

            # shared: the agent's "security code?" arms masking of the customer's answer;
            # its language picks the number words (auto: English and French together)
            context = MaskContext(language=self.cfg.language.call)
            self._maskers = {s: CardMasker(context=context) for s in ("agent", "customer")}
            self._mask_text = functools.partial(mask_partial, context=None, language=context.language)

    def _release_words(self, words: list[Word], cands: list[Prompt]) -> list[Event]:
        out: list[Event] = []
        for w in words:
            out.append(w)
            st = self._spk.get(w.speaker)
            if st is not None:
                st.words.add(w)
                if st.calib_words is not None:
                    st.calib_words.append(w)
                    ready = st.calibrate_wpm(max(self.t_s, w.t_s))
                    if ready is not None:
                        out.append(ready)
            if self.phrase_coach is not None:
                cands += self.phrase_coach.on_word(w, customer_escalated=self.customer_escalated)
        return out

    # ------------------------------------------------------------- end
    def finish(self) -> list[Event]:
        """Flush what is held (masked words, short-call baselines) at the end of a call."""
        out: list[Event] = []
        cands: list[Prompt] = []
        for m in self._maskers.values():
            out += self._release_words(m.flush(self.t_s), cands)
        if self.phrase_coach is not None:
            cands += self.phrase_coach.finish(self.t_s)
        for st in self._spk.values():
            if st.baseline is None:
                b = st.learner.finish()
                if b is not None:
                    out.append(self._set_baseline(st, b, self.t_s))
        out += self.coach.offer(cands)
        return out

    def profile_baseline(self, speaker: Speaker) -> Baseline | None:
        """The baseline ``speaker`` was given from a calibrated profile (None if it is
        learned from the call, or not known yet)."""
        st = self._spk.get(speaker)
        b = st.baseline if st is not None else None
        return b if b is not None and b.source == "profile" else None

    def summary(self) -> dict[str, Any]:
        """Per-speaker measures over the whole call, for the analyze JSON."""
        res: dict[str, Any] = {}
        for role, st in self._spk.items():
            res[role] = {
                "speech_s": round(st.stats.speech_s, 2),
                "median_f0_hz": _opt(st.stats.median_f0_hz),
                "active_level_db": _opt(st.stats.level_db),
                "rate_syl_s": _opt(st.stats.rate_syl_s),
                "baseline": _r(_baseline_dict(st.baseline)),
                "baseline_status": st.baseline_status,
            }
            if st.calm_pace_refused is not None:
                res[role]["calm_pace_refused"] = st.calm_pace_refused
            if role == "agent":
                res[role]["in_band_share"] = _opt(st.in_band_frames / st.rated_frames if st.rated_frames else None)
            else:
                res[role]["overtalk_by_agent"] = self.overtalk.count
        return res


def _excess(rel: Mapping[str, float | None], margins: Mapping[str, float]) -> dict[str, float]:
    """How far each agent measure is above the calm baseline, in margins (>= 1:
    outside the band); 0 when the measure is not known yet. ``pace`` here is the
    acoustic rate against the ``acoustic_pace`` margin; the pipeline replaces it with
    the pace measure in use (:meth:`Pipeline._pace`)."""
    rate_rel, pitch_st, level_rel_db = rel["rate_rel"], rel["pitch_st"], rel["level_rel_db"]
    return {
        "pace": (rate_rel - 1.0) / margins.get("acoustic_pace", margins["pace"]) if rate_rel is not None else 0.0,
        "pitch": pitch_st / margins["pitch"] if pitch_st is not None else 0.0,
        "volume": level_rel_db / margins["volume"] if level_rel_db is not None else 0.0,
    }


def _baseline_dict(b: Baseline | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {
        "f0_hz": b.f0_hz,
        "level_db": b.level_db,
        "rate_syl_s": b.rate_syl_s,
        "wpm": b.wpm,
        "speech_s": b.speech_s,
        "source": b.source,
    }


def _opt(v: float | None) -> float | None:
    return None if v is None else round(float(v), 3)


def _r(d: Any) -> Any:
    if d is None:
        return None
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items()}
