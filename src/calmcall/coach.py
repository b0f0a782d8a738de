"""Prompt timing: hysteresis on conditions, and arbitration between prompts.

Policy (documented in the README, "When prompts appear"):

* A condition must hold continuously for ``hold_s`` of the speaker's speech (pauses
  up to ``release_gap_s`` do not break it) before it becomes a candidate.
* At most one prompt per ``min_interval_s`` (default 20 s) across all kinds.
* The same kind (a phrase prompt: the same rule) is not repeated within ``cooldown_s``.
* A *high*-severity candidate may break through the global interval once at least
  ``breakthrough_gap_s`` passed since the previous prompt (overtalk, customer
  escalation, or a pace/pitch/volume excess of ``high_severity_factor`` margins).
* When several candidates are ready at once the coach takes the highest severity,
  then the kind order overtalk > customer_escalation > volume > pace > pitch > phrase.
  Candidates that are not shown are dropped; a condition that still holds is offered
  again later.
"""

from __future__ import annotations

from .config import CoachConfig
from .events import PROMPT_KINDS, SEVERITY_RANK, Prompt


def prompt_key(prompt: Prompt) -> str:
    """The cooldown key: the kind, or ``phrase:<rule id>`` for phrase prompts."""
    if prompt.kind == "phrase":
        return f"phrase:{prompt.evidence.get('rule', '')}"
    return prompt.kind


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


class Coach:
    """Chooses which candidate prompts are shown, and when."""

    def __init__(self, cfg: CoachConfig) -> None:
        self.cfg = cfg
        self._last_any_s: float | None = None
        self._last_by_key: dict[str, float] = {}
        self.suppressed = 0

    def _allowed(self, p: Prompt) -> bool:
        last = self._last_by_key.get(prompt_key(p))
        if last is not None and p.t_s - last < self.cfg.cooldown_s:
            return False
        if self._last_any_s is None or p.t_s - self._last_any_s >= self.cfg.min_interval_s:
            return True
        return p.severity == "high" and p.t_s - self._last_any_s >= self.cfg.breakthrough_gap_s

    def offer(self, candidates: list[Prompt]) -> list[Prompt]:
        """Return the prompt to show now (a list of zero or one)."""
        if not candidates:
            return []
        order = sorted(
            candidates,
            key=lambda p: (-SEVERITY_RANK[p.severity], PROMPT_KINDS.index(p.kind) if p.kind in PROMPT_KINDS else 99, p.t_s),
        )
        for p in order:
            if self._allowed(p):
                self._last_any_s = p.t_s
                self._last_by_key[prompt_key(p)] = p.t_s
                return [p]
        self.suppressed += 1
        return []
