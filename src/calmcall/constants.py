"""Constants every layer shares; a leaf module (imports nothing from calmcall).

``SAMPLE_RATE_HZ``: the one rate of the pipeline. Files, microphones and recordings
are resampled to it at the edge (:mod:`calmcall.audio_io`, :mod:`calmcall.live.capture`);
the measures, the speech decision and the transcriber all read 16 kHz mono float32.
"""

from __future__ import annotations

__all__ = ["SAMPLE_RATE_HZ"]

#: samples per second of every audio array inside calmcall
SAMPLE_RATE_HZ = 16_000
