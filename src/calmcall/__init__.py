"""calmcall: live "speak slowly and low" coaching for call-centre agents."""

__version__ = "0.1.0"
