"""calmcall: live "speak slowly and low" coaching for call-centre agents.

The public API (``calmcall.__all__``); everything else is internal and may change::

    import calmcall

    cfg = calmcall.load_config(None)                       # defaults, or a TOML path
    call = calmcall.load_call("call.wav")                  # agent ch 0, customer ch 1
    events, pipe = calmcall.run_call(call, config=cfg)     # prosody + words + phrase prompts
    for ev in events:
        if isinstance(ev, calmcall.Prompt):
            print(f"{ev.t_s:6.1f}s {ev.headline}: {ev.detail}")
    doc = calmcall.analyze_file("call.wav", config=cfg)    # the `calmcall analyze` JSON document

``Pipeline`` is the synchronous core (audio blocks in, events out, stamped in audio
seconds); ``CallRunner`` adds the per-speaker transcribers (``Transcribers``) the way
analyze and live run them, for embedders that bring their own audio source; see
docs/ARCHITECTURE.md "Core API". Names are imported on first use, so ``import
calmcall`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "run_call": "calmcall.analysis",
    "analyze_file": "calmcall.analysis",
    "Pipeline": "calmcall.pipeline",
    "CallRunner": "calmcall.runner",
    "Transcribers": "calmcall.runner",
    "RunOptions": "calmcall.options",
    "load_call": "calmcall.audio_io",
    "iter_blocks": "calmcall.audio_io",
    "Call": "calmcall.audio_io",
    "SAMPLE_RATE_HZ": "calmcall.audio_io",
    "load_config": "calmcall.config",
    "Config": "calmcall.config",
    "Event": "calmcall.events",
    "Prompt": "calmcall.events",
    "Measures": "calmcall.events",
    "Baseline": "calmcall.events",
    "BaselineReady": "calmcall.events",
    "CustomerState": "calmcall.events",
    "Word": "calmcall.events",
    "Partial": "calmcall.events",
    "Status": "calmcall.events",
    "to_dict": "calmcall.events",
    "CalmcallError": "calmcall.errors",
    "InputError": "calmcall.errors",
    "RuntimeFault": "calmcall.errors",
}

__all__ = [  # a literal, so linters and type checkers read it; tests/test_public_api.py checks it against _EXPORTS
    "SAMPLE_RATE_HZ",
    "Baseline",
    "BaselineReady",
    "Call",
    "CallRunner",
    "CalmcallError",
    "Config",
    "CustomerState",
    "Event",
    "InputError",
    "Measures",
    "Partial",
    "Pipeline",
    "Prompt",
    "RunOptions",
    "RuntimeFault",
    "Status",
    "Transcribers",
    "Word",
    "__version__",
    "analyze_file",
    "iter_blocks",
    "load_call",
    "load_config",
    "run_call",
    "to_dict",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'calmcall' has no attribute {name!r} (public names: calmcall.__all__)")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from .analysis import analyze_file, run_call
    from .audio_io import SAMPLE_RATE_HZ, Call, iter_blocks, load_call
    from .config import Config, load_config
    from .errors import CalmcallError, InputError, RuntimeFault
    from .events import Baseline, BaselineReady, CustomerState, Event, Measures, Partial, Prompt, Status, Word, to_dict
    from .options import RunOptions
    from .pipeline import Pipeline
    from .runner import CallRunner, Transcribers
