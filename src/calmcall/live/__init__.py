"""Live mode: microphone capture, the overlay's websocket server, replay on the real clock.

Modules: :mod:`devices` (listing and finding input devices), :mod:`capture`
(sounddevice input with a bounded queue, resampling and a watchdog),
:mod:`server` (websocket + overlay server and its security checks),
:mod:`session` (runs the pipeline and the transcriber on the live or replay clock),
:mod:`commands` (the ``devices``, ``live`` and ``replay`` subcommands).
"""
