"""Text stages: the de-escalation phrase playbook and payment-card masking."""

from .masking import CardMasker, MaskContext, mask_partial, mask_text
from .playbook import PhraseCoach, Playbook, PlaybookError, Rule, load_playbook

__all__ = [
    "CardMasker",
    "MaskContext",
    "PhraseCoach",
    "Playbook",
    "PlaybookError",
    "Rule",
    "load_playbook",
    "mask_partial",
    "mask_text",
]
