"""Speaking rate from the acoustics: syllable nuclei as intensity peaks.

A causal hysteresis peak picker over frame intensity (dB): a peak counts as a
syllable nucleus when the intensity has risen at least ``dip_db`` from the
preceding dip, falls at least ``dip_db`` after it, and the frame at the peak is
voiced. This is the idea of de Jong & Wempe's syllable-nuclei method (peaks in
intensity, dips between them, voicing required) in a streaming form; it is our
own implementation (their Praat script is GPL).
"""

from __future__ import annotations


class SyllableCounter:
    """Feed frames in order; :meth:`update` returns True on the frame at which a
    nucleus is confirmed (a few frames after its peak)."""

    def __init__(self, *, dip_db: float = 2.0, min_gap_frames: int = 8) -> None:
        self._dip_db = dip_db
        self._min_gap = min_gap_frames
        self._rising = False
        self._peak_db = -200.0
        self._peak_voiced = False
        self._dip = 200.0
        self._frames_since_peak = 10**9
        self._last_nucleus_gap = 10**9

    def update(self, intensity_db: float, voiced: bool) -> bool:
        """Feed one frame (intensity in dB, voicing). True when a nucleus is confirmed."""
        self._last_nucleus_gap += 1
        found = False
        if self._rising:
            if intensity_db >= self._peak_db:
                self._peak_db = intensity_db
                self._peak_voiced = voiced
            elif intensity_db < self._peak_db - self._dip_db:
                if self._peak_voiced and self._peak_db - self._dip >= self._dip_db and self._last_nucleus_gap >= self._min_gap:
                    found = True
                    self._last_nucleus_gap = 0
                self._rising = False
                self._dip = intensity_db
        else:
            if intensity_db < self._dip:
                self._dip = intensity_db
            elif intensity_db > self._dip + self._dip_db:
                self._rising = True
                self._peak_db = intensity_db
                self._peak_voiced = voiced
        return found
