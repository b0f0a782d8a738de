"""Agent overtalk with turn-taking rules: the agent starts while the caller holds
the floor, and both keep talking.

:class:`OvertalkDetector` is a small stateful detector fed one pair of 10 ms frames
at a time (``update(agent_frame, customer_frame) -> Prompt | None``). It reads only
``FrameMeasure.active`` of each channel (the pipeline's voice-activity decision)
and ``t_s``. An episode is *agent overtalk* when all of these hold
(docs/background.md: Real speech "Turn-taking"):

1. **Agent onset**: the agent becomes active after at least ``agent_silence_s`` of
   silence (shorter pauses continue the agent's own speech). Silences, floor times
   and the caller's turn gaps are measured from where the speech really ended:
   the activity decision runs ``release_s`` past it (its hangover).
2. **The caller holds the floor**: the caller is active at that frame, and has been
   talking on their own (agent silent) for at least ``customer_min_s``, pauses of up
   to ``turn_gap_s`` inside the caller's turn included. A caller who starts while the
   agent talks has not taken the floor from them until ``customer_min_s`` after the
   agent stops (a caller who interrupts the agent is not agent overtalk).
3. **Both keep talking**: the agent and the caller both stay active (pauses up to
   ``pause_s``) for ``overlap_s`` of real speech after the onset: the detector
   confirms at the first frame at least ``overlap_s + release_s`` after the onset
   where both are active (the activity decision keeps a channel active for
   ``release_s`` after its last speech): an agent who answers
   0-0.3 s after the caller stops sees the caller's activity end within the hangover
   (turn-taking, not overtalk); a backchannel shorter than ``overlap_s`` ("mm-hm",
   "right") ends before the wait does; a caller who stops within ``overlap_s`` of the
   agent's start has handed over the turn.

**Speech, not line noise**: a frame counts as a channel's speech when the activity
decision says so *and* it is no more than :data:`SPEECH_DROP_DB` below the
channel's active speech level so far (the power mean of its loud speech frames,
passed by the pipeline); the hangover ``release_s`` is then applied here. On a
telephone channel the comfort noise between turns (-60 dBFS, 30 dB under the
caller's speech) kept the caller's activity on for a second or more after they
stopped, and an agent answering 0.1-0.4 s later read as talking over them (4 of
the 33 overtalks detected on the dev calls; all on phone channels).

The prompt is stamped at the frame the last condition is met (no look-ahead); its
evidence has the agent's onset, how long the caller had held the floor, and the
overlap so far. Cross-channel bleed (the caller's voice in the agent's mic) is
handled by the activity decision itself (its echo check: ``FrameMeasure.echo``
frames are not active): an agent frame that is active because of bleed is agent
speech to this detector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import OvertalkConfig
from .events import Prompt
from .prosody import FrameMeasure

MIN_OFF_S = 0.1  #: the agent's activity must be off at least this long for a new onset (s)
#: an active frame more than this far below its channel's active speech level is not
#: speech to the detector (comfort noise, line hiss inside the activity decision) (dB)
SPEECH_DROP_DB = 25.0


@dataclass(frozen=True, slots=True)
class OvertalkEpisode:
    """One detected overtalk: ``onset_s`` (agent onset), ``t_s`` (when confirmed),
    ``floor_s`` (how long the caller had talked alone before the onset)."""

    onset_s: float
    t_s: float
    floor_s: float


class OvertalkDetector:
    """Streaming agent-overtalk detector (see the module docstring for the rules).

    Parameters
    ----------
    cfg : the ``[overtalk]`` settings.
    release_s : how long the activity decision keeps a channel active after its last
        speech (the VAD hangover, s); added to ``overlap_s`` before confirming.
    """

    def __init__(self, cfg: OvertalkConfig, *, release_s: float = 0.0) -> None:
        if release_s < 0:
            raise ValueError(f"release_s must be >= 0 (the VAD hangover in seconds), got {release_s}")
        self.cfg = cfg
        self.release_s = float(release_s)
        self._agent_last_s = -1e9  # last active agent frame
        self._agent_prev_end_s = -1e9  # end of the agent's previous speech (before the current onset)
        self._cust_last_s = -1e9
        self._cust_run_start_s: float | None = None
        self._onset_s: float | None = None
        self._floor_s = 0.0
        self._speech_last_s = {"agent": -1e9, "customer": -1e9}
        self.episodes: list[OvertalkEpisode] = []

    @property
    def count(self) -> int:
        """Overtalk episodes detected so far."""
        return len(self.episodes)

    def _talking(self, role: str, f: FrameMeasure, level_db: float | None) -> bool:
        """The channel's speech decision for the detector: active frames within
        :data:`SPEECH_DROP_DB` of ``level_db`` (all active frames when it is
        unknown), held ``release_s`` past the last such frame (the hangover)."""
        if f.active and (level_db is None or 10.0 * math.log10(max(f.power, 1e-20)) >= level_db - SPEECH_DROP_DB):
            self._speech_last_s[role] = f.t_s
            return True
        return f.active and f.t_s - self._speech_last_s[role] <= self.release_s + 1e-9

    def update(
        self,
        agent: FrameMeasure,
        customer: FrameMeasure,
        *,
        agent_level_db: float | None = None,
        customer_level_db: float | None = None,
    ) -> Prompt | None:
        """Advance by one frame pair (same ``t_s``); returns a prompt when an
        overtalk is confirmed at this frame, else ``None``. ``*_level_db``: each
        channel's active speech level so far (dBFS; ``None``: every active frame is
        speech)."""
        o = self.cfg
        t = agent.t_s
        rel = self.release_s  # activity runs this long past the speech: gaps look this much shorter
        agent_on = self._talking("agent", agent, agent_level_db)
        customer_on = self._talking("customer", customer, customer_level_db)
        if customer_on:
            if self._cust_run_start_s is None or t - self._cust_last_s + rel > o.turn_gap_s:
                self._cust_run_start_s = t
            self._cust_last_s = t
        if agent_on:
            off_s = t - self._agent_last_s  # the agent's activity was off for this long (+ one hop)
            # a dropout of a few frames inside speech is not a silence: at least MIN_OFF_S off
            if off_s >= max(o.agent_silence_s - rel, MIN_OFF_S):
                self._agent_prev_end_s = self._agent_last_s - rel  # where that speech really ended
                self._onset_s = None
                if customer_on and self._cust_run_start_s is not None:
                    floor_s = t - max(self._cust_run_start_s, self._agent_prev_end_s)
                    if floor_s >= o.customer_min_s:
                        self._onset_s = t
                        self._floor_s = floor_s
            self._agent_last_s = t
        if self._onset_s is None:
            return None
        if t - self._agent_last_s > o.pause_s or t - self._cust_last_s > o.pause_s:
            self._onset_s = None  # one of them stopped: a turn change or a backchannel
            return None
        if not (agent_on and customer_on) or t - self._onset_s + 1e-9 < o.overlap_s + rel:
            return None
        onset_s = self._onset_s
        self._onset_s = None
        self.episodes.append(OvertalkEpisode(onset_s=onset_s, t_s=t, floor_s=self._floor_s))
        return Prompt(
            t_s=t,
            kind="overtalk",
            headline="Listen first",
            detail=(
                f"You started while the caller was talking ({self._floor_s:.1f} s into their turn) "
                "and they kept going - let them finish"
            ),
            severity="high",
            evidence={
                "agent_onset_s": round(onset_s, 3),
                "customer_talking_s": round(self._floor_s, 3),
                "overlap_s": round(t - onset_s, 3),
            },
        )
