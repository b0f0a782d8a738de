"""Scripted French calls with ground truth, rendered with espeak-ng's French voices.

Same renderer as :mod:`scripted` (espeak-ng, trimmed, placed on the agent's or the
customer's channel, truth JSON beside the WAV); French lines written for this project.
Voices: the agent is ``fr`` (France), ``fr-be`` (Belgium) or ``fr-ch`` (Switzerland);
the customer ``fr+f3`` (the female variant). In espeak-ng 1.51 the three voices share
one phoneme set and differ mainly in how they read numbers (``fr-be``/``fr-ch`` say
"septante", "nonante"): espeak French does **not** stand for the accents of real
Belgian or Swiss callers.

Every call has, in this order: a calm opening (agent and customer, ~12 s of agent
speech for the baseline), a phrase the playbook must catch ("c'est la politique de
l'entreprise"), a customer turn read louder, higher and faster (customer escalation),
an agent phrase "vous devez comprendre", an agent turn read +10 dB (a "volume"
violation), the manager offered before any solution ("je peux vous passer mon
supérieur"), and a card number read by the customer. The phrases were chosen among
those base transcribes from espeak French the same way on all three voices (see
docs/french.md: what espeak speech can and cannot show); others ("je suis désolée",
"calmez-vous") come out garbled ("Jusqu'y des monnaies", "Comment vous"), and the
text-level tests cover them.

Dev / held-out: :data:`DEV_SCRIPT` (voice ``fr``) is the one the loop guard and the
French defaults were looked at on; :data:`HELD_OUT_SCRIPT` (other lines, all voices)
is only measured (benchmarks/bench_french.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripted import Script, Turn, render_call

__all__ = [
    "CARD_DIGITS",
    "CUSTOMER_VOICE_FR",
    "DEV_SCRIPT",
    "FR_VOICES",
    "HELD_OUT_SCRIPT",
    "FrenchScript",
    "french_call",
    "render_french_call",
]

FR_VOICES = ("fr", "fr-be", "fr-ch")
CUSTOMER_VOICE_FR = "fr+f3"
#: the card number the customer reads (Luhn-valid), digit by digit in French
CARD_DIGITS = "4972101111111110"


@dataclass(frozen=True)
class FrenchScript:
    """The lines of one French call (see the module docstring for the order)."""

    name: str
    agent_calm: tuple[str, ...]
    customer_calm: tuple[str, ...]
    agent_policy: str
    customer_escalated: str
    agent_lecture: str
    agent_volume: str
    agent_manager: str
    customer_card: str


DEV_SCRIPT = FrenchScript(
    name="dev",
    agent_calm=(
        "Bonjour, vous êtes bien au service client, je m'appelle Julie. Que puis-je faire pour vous ?",
        "Je regarde votre dossier tout de suite, un instant s'il vous plaît.",
        "Je vois bien la commande, elle a été envoyée la semaine dernière.",
        "Merci, je note tout cela dans votre dossier.",
    ),
    customer_calm=(
        "Bonjour, j'appelle au sujet de ma commande, elle n'est toujours pas arrivée.",
        "Oui, c'est la commande du douze novembre.",
        "D'accord, merci beaucoup.",
    ),
    agent_policy="C'est la politique de l'entreprise, monsieur.",
    customer_escalated="C'est la troisième fois que j'appelle ! Personne ne fait rien et j'en ai vraiment assez !",
    agent_lecture="Vous devez comprendre la situation.",
    agent_volume="Le remboursement est déjà validé, il arrivera sur votre compte cette semaine.",
    agent_manager="Je peux vous passer mon supérieur.",
    customer_card="Mon numéro de carte est quatre neuf sept deux, un zéro un un, un un un un, un un un zéro.",
)

HELD_OUT_SCRIPT = FrenchScript(
    name="held_out",
    agent_calm=(
        "Service client bonjour, ici Marc, en quoi puis-je vous aider ?",
        "Très bien, je vais chercher votre contrat dans le système.",
        "Le prélèvement de ce mois a bien été fait deux fois.",
        "Je vous envoie un courriel de confirmation aujourd'hui.",
    ),
    customer_calm=(
        "Bonjour, j'ai été prélevée deux fois ce mois-ci.",
        "Mon contrat est au nom de madame Lefèvre.",
        "Bon, très bien, merci.",
    ),
    agent_policy="Je suis désolé, mais c'est la politique de la société.",
    customer_escalated="Vous vous moquez de moi ! Je veux être remboursée aujourd'hui, pas dans un mois !",
    agent_lecture="Madame, vous devez comprendre que le délai est normal.",
    agent_volume="Je vous assure que le second prélèvement sera annulé dès aujourd'hui.",
    agent_manager="Si vous voulez, je peux vous passer mon supérieur.",
    customer_card="La carte, c'est quatre neuf sept deux, un zéro un un, un un un un, un un un zéro.",
)

#: labels of the agent turns that carry a known violation or phrase (truth)
PHRASE_RULES = {
    "agent_policy": "defensive.policy",
    "agent_lecture": "defensive.lecture",
    "agent_manager": "escalation.manager_early",
}
ESCALATED: dict[str, Any] = {"wpm": 200, "pitch": 80, "gain_db": 10.0}


def french_call(script: FrenchScript = DEV_SCRIPT, voice: str = "fr") -> tuple[list[Turn], dict[str, float]]:
    """``(turns, phrase_starts)``: the call's turns and, for each phrase line
    (:data:`PHRASE_RULES`), where its turn starts (s)."""
    s = Script()
    a = iter(script.agent_calm)
    c = iter(script.customer_calm)
    starts: dict[str, float] = {}

    def agent(text: str, **kw: Any) -> Turn:
        return s.say("agent", text, voice=voice, **kw)

    def customer(text: str, **kw: Any) -> Turn:
        return s.say("customer", text, voice=CUSTOMER_VOICE_FR, **kw)

    agent(next(a))
    customer(next(c))
    agent(next(a))
    customer(next(c))
    agent(next(a))
    starts["agent_policy"] = agent(script.agent_policy).start_s
    customer(script.customer_escalated, label="escalated", **ESCALATED)
    starts["agent_lecture"] = agent(script.agent_lecture).start_s
    customer(next(c))
    agent(script.agent_volume, label="volume", gain_db=10.0)
    starts["agent_manager"] = agent(script.agent_manager).start_s
    customer(script.customer_card)
    agent(next(a))
    return s.turns, starts


def render_french_call(out_path: str | Path, script: FrenchScript = DEV_SCRIPT, voice: str = "fr") -> dict[str, Any]:
    """Render one French call; the truth dict gets ``phrase_starts`` and ``script``/``voice``."""
    turns, starts = french_call(script, voice)
    truth = render_call(turns, out_path)
    truth.update({"phrase_starts": starts, "script": script.name, "voice": voice})
    return truth
