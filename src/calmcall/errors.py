"""calmcall's one exception tree.

Every error calmcall raises on purpose derives from :class:`CalmcallError`, and its
message is one line that names the input (file, key, flag, device) and says how to fix
the call. The CLI catches ``CalmcallError`` once and prints ``calmcall: error: <message>``
with exit status 2; an embedder can do the same::

    try:
        doc = calmcall.analyze_file(path)
    except calmcall.InputError as exc:      # the caller's input: fix it and call again
        ...
    except calmcall.RuntimeFault as exc:    # the environment: model, device, disk
        ...

The concrete classes keep their historical built-in bases (``ValueError`` for bad
input, ``RuntimeError`` for faults), so ``except ValueError`` keeps working.

==================  =============================  ==================================
class               module                         raised when
==================  =============================  ==================================
InputError          calmcall.errors                (base) the caller's input is wrong
 CallFileError      calmcall.audio_io              a call recording cannot be used
 ConfigError        calmcall.config                a config file or key is malformed
 ProfileError       calmcall.baseline              a baseline profile is unusable
 PlaybookError      calmcall.text.playbook         a playbook file is malformed
 PatternError       calmcall.text.patterns         a playbook pattern does not parse
 BatchError         calmcall.qa.batch              a batch cannot start
 UsageError         calmcall.cli                   flags that cannot go together
 ManifestError      calmcall.errors (fleet)        a call manifest (CSV) is malformed
 DashboardError     calmcall.qa.dashboard          a batch folder has no table to draw
 URIError           calmcall.fleet.uri             a URI scheme calmcall cannot read or write
RuntimeFault        calmcall.errors                (base) the environment failed
 ModelError         calmcall.asr.model             the speech model cannot be used
 DeviceError        calmcall.live.devices          no usable input device
 SessionLogError    calmcall.qa.sessionlog         the session log cannot be written
 RecordingError     calmcall.qa.recorder           the audio recording cannot start
 FleetError         calmcall.errors (fleet)        the Ray engine cannot run
  ClusterError      calmcall.errors (fleet)        a Ray cluster cannot start or be joined
==================  =============================  ==================================
"""

from __future__ import annotations

__all__ = ["CalmcallError", "ClusterError", "FleetError", "InputError", "ManifestError", "RuntimeFault"]


class CalmcallError(Exception):
    """Base of every error calmcall raises on purpose; the message says how to fix it."""


class InputError(CalmcallError, ValueError):
    """The caller's input (a file, a config key, a flag) is wrong: fix it and call again."""


class RuntimeFault(CalmcallError, RuntimeError):
    """The environment failed (model files, audio device, disk): the message says what to check."""


class ManifestError(InputError):
    """A call manifest (CSV: ``path``, ``agent_id``, ``call_time``, ``team``, ...) is
    malformed; the message names the file, the row and the fix."""


class FleetError(RuntimeFault):
    """``--engine ray`` cannot run: Ray or pyarrow missing, or the run failed in Ray."""


class ClusterError(FleetError):
    """A Ray cluster cannot be started (the loopback test cluster) or joined (``--ray-address``)."""
