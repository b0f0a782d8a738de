"""Prompt timing: hysteresis on conditions, and the arbiter that picks the cue shown.

Policy (documented in the README, "When prompts appear"; reasons in docs/background.md: Cues
and §10: a wrong or weak cue that takes the slot hides the real one):

* A condition must hold continuously for ``hold_s`` of the speaker's speech (pauses
  up to ``release_gap_s`` do not break it) before it becomes a candidate
  (:class:`HoldTimer`, used by the pipeline).
* Every candidate has a **tier**: 3 high severity; 2 medium (pace, pitch, volume,
  overtalk, caller escalation); 1 a medium phrase cue; 0 low severity (a borderline
  excess under ``low_severity_factor`` margins, a low-severity phrase rule). Within a
  tier, the **strength** orders: the excess in margins for pace/pitch/volume, the
  playbook rank for phrase cues.
* **Decision window**: a ready candidate is not shown at once unless it is high: a
  weak one (tier 0-1) waits up to ``decision_weak_s`` (2 s), a medium one
  ``decision_medium_s`` (0.3 s), for a stronger one; the strongest ready candidate is
  shown when its own wait is over. A pace/pitch/volume candidate stays ready only
  while its condition holds; a phrase cue is an event and is dropped when it could
  not be shown by the end of its wait.
* **Coincident excesses**: when the cue shown is pace, pitch or volume, the other of
  these that are ready at the same time are named in its detail ("also ...") and in
  ``evidence["also"]``; the headline is the strongest's.
* **Budget**: a token bucket of ``burst`` (3) cues, refilled at one cue per
  ``min_interval_s`` (20 s): over any stretch of a call at most one cue per 20 s
  on average, plus ``burst - 1``. Every shown cue takes a token; none is shown
  without one.
* **Rate limit**: within ``min_interval_s`` of the previous prompt, a candidate may
  break through only once ``breakthrough_gap_s`` (3 s) passed since it (time to
  read the previous cue), and only when it is of tier 2 or 3 and either a different
  key than the previous prompt (a distinct problem: the call generator's violations
  3-8 s apart, an overtalk then a fast turn) or of a higher tier than it (a weak
  cue never blocks a stronger one for long). Weak cues (tier 0-1) never break
  through: they wait out the 20 s.
* **Cooldown**: the same key (the kind; for phrase cues the rule) is not shown again
  within ``cooldown_s`` (45 s) unless it is now of a higher tier: after a low-severity
  (tier 0) cue once ``breakthrough_gap_s`` passed, after a medium one once
  ``min_interval_s`` passed (a second "Slow down" 4 s after the first tells the agent
  nothing new). Only cues actually shown (or named in a shown cue's
  "also") start a cooldown; a candidate that lost the decision starts nothing.
* Ties are broken by kind order overtalk > customer_escalation > volume > pace >
  pitch > phrase, then by key: the same inputs always give the same prompts.

A shown prompt is stamped with the audio time it is shown (``t_s``);
``evidence["ready_s"]`` says since when it was ready.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .config import CoachConfig
from .events import PROMPT_KINDS, Prompt

#: pace/pitch/volume: candidates offered again on every evaluation while they hold
PROSODY_KINDS = ("volume", "pace", "pitch")
#: kinds offered on every evaluation while their condition holds; other kinds
#: (phrase, overtalk) are offered once, as events
CONTINUOUS_KINDS = (*PROSODY_KINDS, "customer_escalation")
_REFRESH_S = 0.15  #: a continuous candidate not offered again for this long has ended (> one 0.1 s evaluation)
_EPS = 1e-9


def prompt_key(prompt: Prompt) -> str:
    """The cooldown key: the kind, or ``phrase:<rule id>`` for phrase prompts."""
    if prompt.kind == "phrase":
        return f"phrase:{prompt.evidence.get('rule', '')}"
    return prompt.kind


def tier(prompt: Prompt) -> int:
    """3 high; 2 medium (not a phrase cue); 1 medium phrase cue; 0 low."""
    if prompt.severity == "high":
        return 3
    if prompt.severity == "low":
        return 0
    return 1 if prompt.kind == "phrase" else 2


def strength(prompt: Prompt) -> float:
    """Order within a tier: the excess in margins (pace/pitch/volume), the playbook
    rank (phrase cues), else 0."""
    ev = prompt.evidence
    v = ev.get("excess_margins") if prompt.kind in PROSODY_KINDS else ev.get("rank") if prompt.kind == "phrase" else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


class HoldTimer:
    """Tracks how long a condition has held over a speaker's speech.

    :meth:`update` is called at time ``t_s`` with whether the speaker is active and
    whether the condition is true; it returns the hold start time once the condition
    has held for ``hold_s``, else ``None``.
    """

    def __init__(self, *, hold_s: float, release_gap_s: float) -> None:
        self.hold_s = hold_s
        self.release_gap_s = release_gap_s
        self.since_s: float | None = None
        self._last_true_s = -1e9

    def update(self, t_s: float, *, active: bool, condition: bool) -> float | None:
        if active and condition:
            if self.since_s is None:
                self.since_s = t_s
            self._last_true_s = t_s
        elif active or t_s - self._last_true_s > self.release_gap_s:
            self.since_s = None
        if self.since_s is not None and self._last_true_s - self.since_s >= self.hold_s - 1e-9:
            return self.since_s
        return None

    def reset(self) -> None:
        self.since_s = None


@dataclass
class _Pending:
    prompt: Prompt
    first_s: float  # ready since
    last_s: float  # last offered


class Coach:
    """Chooses which candidate prompts are shown, and when (see the module doc).

    ``offer(candidates, now_s=t)`` on the pipeline's evaluation grid (every 0.1 s of
    audio, candidates may be empty) decides; ``offer(candidates)`` without ``now_s``
    (events between evaluations: overtalk, committed words) adds the candidates and
    shows one at once only if it is high severity, else the next evaluation decides.
    Returns the prompts shown now (zero or one).
    """

    def __init__(self, cfg: CoachConfig) -> None:
        self.cfg = cfg
        self._last_any: tuple[float, int, str] | None = None  # (t_s, tier, key) of the last prompt shown
        self._tokens = float(cfg.burst)  # the budget's bucket (cues), as of self._tokens_t_s
        self._tokens_t_s = 0.0
        self._last_by_key: dict[str, tuple[float, int]] = {}
        self._pending: dict[str, _Pending] = {}
        self._now_s = -1e9
        self.suppressed = 0  #: candidates that were ready but never shown

    # ---------------------------------------------------------------- rules
    def _wait_s(self, p: Prompt) -> float:
        k = tier(p)
        return 0.0 if k == 3 else self.cfg.decision_medium_s if k == 2 else self.cfg.decision_weak_s

    def _allowed(self, p: Prompt, now_s: float) -> bool:
        k = tier(p)
        gap = self.cfg.breakthrough_gap_s
        last = self._last_by_key.get(prompt_key(p))
        if last is not None and now_s - last[0] < self.cfg.cooldown_s - _EPS:
            # an upgrade of the same key: soon after a weak (tier 0) cue, which may have
            # taken the slot a moment before the real excess; after a medium one only
            # once the rate limit is over (the agent is already acting on that advice)
            upgrade_gap = gap if last[1] == 0 else self.cfg.min_interval_s
            if not (k > last[1] and now_s - last[0] >= upgrade_gap - _EPS):
                return False
        if self._tokens_at(now_s) < 1.0 - _EPS:
            return False
        if self._last_any is None:
            return True
        t_any, k_any, key_any = self._last_any
        if now_s - t_any >= self.cfg.min_interval_s - _EPS:
            return True
        return now_s - t_any >= gap - _EPS and k >= 2 and (prompt_key(p) != key_any or k > k_any)

    def _tokens_at(self, now_s: float) -> float:
        """The budget's tokens at ``now_s`` (refilled at one per ``min_interval_s``, at most ``burst``)."""
        mi = self.cfg.min_interval_s
        refill = (now_s - self._tokens_t_s) / mi if mi > 0 else float("inf")
        return min(float(self.cfg.burst), self._tokens + max(0.0, refill))

    @staticmethod
    def _rank(item: _Pending) -> tuple:
        p = item.prompt
        kind_i = PROMPT_KINDS.index(p.kind) if p.kind in PROMPT_KINDS else len(PROMPT_KINDS)
        return (tier(p), strength(p), -kind_i, -item.first_s, prompt_key(p))

    # ---------------------------------------------------------------- offer
    def offer(self, candidates: list[Prompt], now_s: float | None = None) -> list[Prompt]:
        """Add ``candidates`` (ready now) and return the prompt to show now (a list
        of zero or one); see the class doc for ``now_s``."""
        event = now_s is None
        now: float
        if now_s is None:
            if not candidates:
                return []
            # an event's own time; the grid's clock (and expiry) moves only on evaluations,
            # so a word stamped ahead of the audio fed so far changes nothing else
            now = max(p.t_s for p in candidates)
        else:
            now = max(now_s, self._now_s)
            self._now_s = now
        for p in candidates:
            key = prompt_key(p)
            cur = self._pending.get(key)
            if cur is None:
                self._pending[key] = _Pending(p, p.t_s, max(p.t_s, self._now_s))
            else:
                cur.prompt, cur.last_s = p, max(p.t_s, self._now_s)
        if not event:
            self._expire(now)
        ready = [c for c in self._pending.values() if c.first_s <= now + _EPS and self._allowed(c.prompt, now)]
        if not ready:
            return []
        best = max(ready, key=self._rank)
        if event and tier(best.prompt) < 3:
            return []  # decided on the evaluation grid
        if now - best.first_s < self._wait_s(best.prompt) - _EPS:
            return []  # a stronger cue may still become ready
        return [self._show(best, now)]

    def _expire(self, now_s: float) -> None:
        for key in sorted(self._pending):
            c = self._pending[key]
            if c.prompt.kind in CONTINUOUS_KINDS:
                gone = now_s - c.last_s > _REFRESH_S
            else:
                gone = now_s - c.first_s > self._wait_s(c.prompt) + _REFRESH_S
            if gone:
                del self._pending[key]
                self.suppressed += 1

    def _show(self, best: _Pending, now_s: float) -> Prompt:
        p = best.prompt
        key = prompt_key(p)
        del self._pending[key]
        evidence = dict(p.evidence)
        evidence["ready_s"] = round(best.first_s, 3)
        severity = p.severity
        detail = p.detail
        marked = [(key, tier(p))]
        if p.kind in PROSODY_KINDS:
            others = sorted(
                (c for k, c in self._pending.items() if c.prompt.kind in PROSODY_KINDS and now_s - c.last_s <= _REFRESH_S),
                key=self._rank,
                reverse=True,
            )
            if others:
                evidence["also"] = [
                    {
                        "kind": c.prompt.kind,
                        "severity": c.prompt.severity,
                        "excess_margins": c.prompt.evidence.get("excess_margins"),
                        "detail": c.prompt.detail,
                    }
                    for c in others
                ]
                shorts = [str(c.prompt.evidence.get("short") or c.prompt.headline.lower()) for c in others]
                detail = f"{detail} (also {', '.join(shorts)})"
                if max(tier(c.prompt) for c in others) == 3:
                    severity = "high"
                for c in others:
                    k = prompt_key(c.prompt)
                    marked.append((k, tier(c.prompt)))
                    del self._pending[k]
        shown = dataclasses.replace(p, t_s=now_s, detail=detail, severity=severity, evidence=evidence)
        k_shown = tier(shown)
        self._tokens = self._tokens_at(now_s) - 1.0
        self._tokens_t_s = now_s
        self._last_any = (now_s, k_shown, key)
        for k, t in marked:
            self._last_by_key[k] = (now_s, t)
        return shown
