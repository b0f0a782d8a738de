"""Input devices: list them, find one by name, and a thin backend over sounddevice.

Devices are found by *name*, never by index: indices shift when a headset is
replugged (docs/background.md: Microphones). The backend is the only place that touches PortAudio,
so tests can inject faults with a stand-in backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import RuntimeFault


class DeviceError(RuntimeFault):
    """No usable input device; the message lists what is available."""


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    hostapi: str
    channels: int
    default_rate_hz: float
    is_default: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "hostapi": self.hostapi,
            "channels": self.channels,
            "default_rate_hz": self.default_rate_hz,
            "default": self.is_default,
        }


class InputStreamLike(Protocol):
    active: bool

    def start(self) -> None: ...
    def close(self) -> None: ...


Callback = Callable[[Any, int, Any, Any], None]


class Backend(Protocol):
    def input_devices(self) -> list[InputDevice]: ...
    def open_input(self, device: InputDevice, *, rate_hz: float, blocksize: int, callback: Callback) -> InputStreamLike: ...
    def refresh(self) -> None: ...


class SoundDeviceBackend:
    """PortAudio through sounddevice."""

    def __init__(self) -> None:
        import sounddevice  # imported here: importing it loads PortAudio

        self.sd = sounddevice

    def input_devices(self) -> list[InputDevice]:
        sd = self.sd
        apis = sd.query_hostapis()
        try:
            default_in = sd.default.device[0]
        except Exception:  # pragma: no cover - no default configured
            default_in = -1
        if default_in is None or default_in < 0:
            for api in apis:
                if api.get("default_input_device", -1) >= 0:
                    default_in = api["default_input_device"]
                    break
        out = []
        for dev in sd.query_devices():
            if dev["max_input_channels"] <= 0:
                continue
            out.append(
                InputDevice(
                    index=int(dev["index"]),
                    name=str(dev["name"]),
                    hostapi=str(apis[dev["hostapi"]]["name"]),
                    channels=int(dev["max_input_channels"]),
                    default_rate_hz=float(dev["default_samplerate"]),
                    is_default=int(dev["index"]) == default_in,
                )
            )
        return out

    def open_input(self, device: InputDevice, *, rate_hz: float, blocksize: int, callback: Callback) -> InputStreamLike:
        stream = self.sd.InputStream(
            device=device.index,
            samplerate=rate_hz,
            channels=1,
            dtype="float32",
            blocksize=blocksize,
            latency="low",
            callback=callback,
        )
        return stream

    def refresh(self) -> None:
        """Re-read PortAudio's device list (it is read once at start). Only safe while
        no stream is open."""
        self.sd._terminate()
        self.sd._initialize()


def format_devices(devices: list[InputDevice]) -> str:
    """A table of input devices for ``calmcall devices`` and error messages."""
    if not devices:
        return "  (no input devices found)"
    w = max(len(d.name) for d in devices)
    lines = [f"  {'':1} {'name':<{w}}  {'host API':<12} {'ch':>3}  {'rate':>7}"]
    for d in devices:
        mark = "*" if d.is_default else " "
        lines.append(f"  {mark} {d.name:<{w}}  {d.hostapi:<12} {d.channels:>3}  {d.default_rate_hz:>7.0f}")
    return "\n".join(lines)


def find_device(devices: list[InputDevice], name: str | None) -> InputDevice:
    """Find an input device by name: an exact (case-insensitive) match first, else the
    one device whose name contains ``name``. ``None`` picks the default input.

    Raises :class:`DeviceError` listing the available devices."""
    if not devices:
        raise DeviceError(
            "no input device found: plug in a headset, or check that PortAudio can see your sound server (calmcall devices)"
        )
    if name is None:
        for d in devices:
            if d.is_default:
                return d
        return devices[0]
    want = name.strip().lower()
    exact = [d for d in devices if d.name.lower() == want]
    if exact:
        return exact[0]
    partial = [d for d in devices if want in d.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if len(partial) > 1:
        raise DeviceError(
            f"input device name {name!r} is ambiguous; it matches:\n"
            + format_devices(partial)
            + "\nuse a longer part of the name"
        )
    raise DeviceError(f"no input device named {name!r}; available input devices:\n" + format_devices(devices))
