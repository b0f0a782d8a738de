"""The message catalogue: every sentence calmcall shows a person, in English and French.

One table (:data:`CATALOGUE`) holds the templates of

* the cues the pipeline emits (headline and detail of ``pace``, ``pitch``, ``volume``,
  ``overtalk``, ``customer_escalation``; phrase cues come from the playbook of the cue
  language, ``playbook.toml`` / ``playbook_fr.toml``, looked up by rule id);
* the overlay's fixed strings (sent to the page in the ``hello`` message);
* the text summary (``calmcall analyze``) and the HTML report's headings.

Localisation happens at the presentation edge: the core (pipeline, coach, overtalk)
keeps producing its English :class:`~calmcall.events.Prompt`; :func:`localize` renders
a prompt's headline and detail again from its ``kind`` and ``evidence`` in another
language, where prompts leave the process (analyze document, overlay messages, summary,
report). ``tests/test_french_messages.py`` renders every kind in English from the
evidence of real pipeline prompts and checks it equals the pipeline's own text, so the
catalogue cannot drift from the code.

Cues state measured facts (wpm, semitones, dB, seconds), never an emotion label, in
both languages.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .events import Prompt

__all__ = ["CATALOGUE", "CUE_LANGUAGES", "localize", "localize_dict", "message", "overlay_strings", "render_prompt"]

CUE_LANGUAGES = ("en", "fr")

CATALOGUE: dict[str, dict[str, str]] = {
    "en": {
        # ---- cues (pipeline.py, overtalk.py, escalation.describe)
        "pace.headline": "Slow down",
        "pace.detail.calm": "{wpm:.0f} wpm - your calm pace is {calm_wpm:.0f}",
        "pace.detail.ceiling": "{wpm:.0f} wpm - above the {ceiling_wpm:.0f} wpm ceiling",
        "pace.detail.acoustic": "~{pct:.0f} % faster than your calm pace",
        "pace.short.words": "{wpm:.0f} wpm",
        "pace.short.acoustic": "pace +{pct:.0f} %",
        "pitch.headline": "Lower pitch",
        "pitch.detail": "Your pitch is {pitch_st:+.1f} semitones above your calm level ({f0_hz:.0f} Hz vs {baseline_f0_hz:.0f} Hz)",
        "pitch.short": "pitch {pitch_st:+.1f} st",
        "volume.headline": "Lower voice",
        "volume.detail": "You are {level_rel_db:.0f} dB louder than your calm level",
        "volume.short": "{level_rel_db:+.0f} dB louder",
        "overtalk.headline": "Listen first",
        "overtalk.detail": "You started while the caller was talking ({customer_talking_s:.1f} s into their turn) and they kept going - let them finish",
        "customer_escalation.headline": "Caller escalating",
        "customer_escalation.detail": "Caller is {raised} than at the start - let them finish, then answer low and slow",
        "raised.at_least": "at least ",
        "raised.level": "{at_least}+{v:.0f} dB louder",
        "raised.pitch": "{at_least}+{v:.0f} semitones higher",
        "raised.rate": "{at_least}{v:.0f} % faster",
        "also": "{detail} (also {items})",
        # ---- overlay (web/overlay.js, web/index.html)
        "overlay.listening": "Listening",
        "overlay.idle_detail": "Cues appear here when pace, pitch or volume leaves your calm band.",
        "overlay.connecting": "Connecting…",
        "overlay.reconnecting": "Reconnecting…",
        "overlay.connected_no_data": "Connected, no data",
        "overlay.disconnected": "Disconnected, retrying in {s} s",
        "overlay.no_token": "No token: open the URL calmcall printed",
        "overlay.refused": "Link refused: open the new URL calmcall printed",
        "overlay.live": "Live",
        "overlay.replay": "Replay",
        "overlay.no_customer": "no customer input",
        "overlay.escalated": "Escalated",
        "overlay.calm": "Calm",
        "overlay.customer": "Customer",
        "overlay.you": "You",
        "overlay.mic": "Mic",
        "overlay.pace": "Pace",
        "overlay.pitch": "Pitch",
        "overlay.volume": "Volume",
        "overlay.transcript": "Transcript",
        "overlay.compact": "Compact",
        "overlay.reconnect": "Reconnect now",
        "overlay.learning": "learning your calm voice…",
        "overlay.baseline": "baseline: ",
        "overlay.calm_prefix": "calm: ",
        # ---- text summary (summary.py)
        "summary.title": "calmcall analysis of {file} ({duration_s:.1f} s)",
        "summary.channels_mono": "channels: agent = {agent}; mono / agent-only call: no customer channel, so overtalk and customer escalation are not measured",
        "summary.channels": "channels: agent = {agent}, customer = {customer}",
        "summary.prompts": "Prompts ({n}):",
        "summary.no_prompts": "  none - the agent stayed inside their calm band",
        "summary.customer_state": "Customer state:",
        "summary.measures": "Measures (whole call, active speech only):",
        "summary.baseline_none": "baseline: {status}",
        "summary.not_learned": "not learned",
        "summary.baseline": "calm baseline {f0_hz:.0f} Hz, {level_db:.1f} dBFS, {rate_syl_s:.2f} syl/s ({source})",
        "summary.speaker": "  {role:8s} speech {speech_s:.1f} s, median pitch {f0}, level {level}, pace {pace}",
        "summary.in_band": "  agent speech inside the target band: {pct:.0f} %",
        "summary.transcript": "Transcript: {n} words (see --json / --vtt / --srt)",
        "summary.language": "language: {language}",
        "role.agent": "agent",
        "role.customer": "customer",
        "state.escalated": "escalated",
        "state.calm": "calm",
        # ---- HTML report (qa/report.py)
        "report.title": "Call report: {name}",
        "report.scorecard": "Scorecard",
        "report.timeline": "Timeline",
        "report.prompts": "Prompts",
        "report.escalations": "Customer escalation episodes",
        "report.events": "Overtalk and long silences",
        "report.transcript": "Transcript",
        "report.th.time": "time",
        "report.th.kind": "kind",
        "report.th.prompt": "prompt",
        "report.th.detail": "detail",
        "report.th.severity": "severity",
        "report.no_prompts": "No prompts in this call.",
        "report.no_escalation": "No customer escalation detected.",
        "report.no_customer": "No customer channel in this call.",
        "report.none": "None.",
        "report.no_transcript": "No transcript (transcription was off or found no words).",
        "report.who.agent": "Agent",
        "report.who.customer": "Customer",
    },
    "fr": {
        "pace.headline": "Ralentissez",
        "pace.detail.calm": "{wpm:.0f} mots/min - votre débit calme est de {calm_wpm:.0f}",
        "pace.detail.ceiling": "{wpm:.0f} mots/min - au-dessus du plafond de {ceiling_wpm:.0f} mots/min",
        "pace.detail.acoustic": "~{pct:.0f} % plus rapide que votre débit calme",
        "pace.short.words": "{wpm:.0f} mots/min",
        "pace.short.acoustic": "débit +{pct:.0f} %",
        "pitch.headline": "Voix plus grave",
        "pitch.detail": "Votre voix est {pitch_st:+.1f} demi-tons au-dessus de votre niveau calme ({f0_hz:.0f} Hz contre {baseline_f0_hz:.0f} Hz)",
        "pitch.short": "hauteur {pitch_st:+.1f} dt",
        "volume.headline": "Parlez moins fort",
        "volume.detail": "Vous parlez {level_rel_db:.0f} dB plus fort que votre niveau calme",
        "volume.short": "{level_rel_db:+.0f} dB plus fort",
        "overtalk.headline": "Écoutez d'abord",
        "overtalk.detail": "Vous avez commencé pendant que la personne parlait ({customer_talking_s:.1f} s après le début de son tour) et elle a continué - laissez-la finir",
        "customer_escalation.headline": "Appelant qui monte",
        "customer_escalation.detail": "La voix de l'appelant est {raised} qu'au début - laissez finir, puis répondez bas et lentement",
        "raised.at_least": "au moins ",
        "raised.level": "{at_least}+{v:.0f} dB plus forte",
        "raised.pitch": "{at_least}+{v:.0f} demi-tons plus aiguë",
        "raised.rate": "{at_least}{v:.0f} % plus rapide",
        "also": "{detail} (aussi {items})",
        "overlay.listening": "À l'écoute",
        "overlay.idle_detail": "Les repères s'affichent ici quand le débit, la hauteur ou le volume sort de votre zone calme.",
        "overlay.connecting": "Connexion…",
        "overlay.reconnecting": "Reconnexion…",
        "overlay.connected_no_data": "Connecté, aucune donnée",
        "overlay.disconnected": "Déconnecté, nouvel essai dans {s} s",
        "overlay.no_token": "Pas de jeton : ouvrez l'adresse affichée par calmcall",
        "overlay.refused": "Lien refusé : ouvrez la nouvelle adresse affichée par calmcall",
        "overlay.live": "En direct",
        "overlay.replay": "Relecture",
        "overlay.no_customer": "pas d'entrée client",
        "overlay.escalated": "Tendu",
        "overlay.calm": "Calme",
        "overlay.customer": "Client",
        "overlay.you": "Vous",
        "overlay.mic": "Micro",
        "overlay.pace": "Débit",
        "overlay.pitch": "Hauteur",
        "overlay.volume": "Volume",
        "overlay.transcript": "Transcription",
        "overlay.compact": "Compact",
        "overlay.reconnect": "Se reconnecter",
        "overlay.learning": "apprentissage de votre voix calme…",
        "overlay.baseline": "référence : ",
        "overlay.calm_prefix": "calme : ",
        "summary.title": "analyse calmcall de {file} ({duration_s:.1f} s)",
        "summary.channels_mono": "canaux : agent = {agent} ; appel mono / agent seul : pas de canal client, donc ni chevauchement ni tension du client mesurés",
        "summary.channels": "canaux : agent = {agent}, client = {customer}",
        "summary.prompts": "Repères ({n}) :",
        "summary.no_prompts": "  aucun - l'agent est resté dans sa zone calme",
        "summary.customer_state": "État du client :",
        "summary.measures": "Mesures (tout l'appel, parole active seulement) :",
        "summary.baseline_none": "référence : {status}",
        "summary.not_learned": "non apprise",
        "summary.baseline": "référence calme {f0_hz:.0f} Hz, {level_db:.1f} dBFS, {rate_syl_s:.2f} syl/s ({source})",
        "summary.speaker": "  {role:8s} parole {speech_s:.1f} s, hauteur médiane {f0}, niveau {level}, débit {pace}",
        "summary.in_band": "  parole de l'agent dans la zone cible : {pct:.0f} %",
        "summary.transcript": "Transcription : {n} mots (voir --json / --vtt / --srt)",
        "summary.language": "langue : {language}",
        "role.agent": "agent",
        "role.customer": "client",
        "state.escalated": "tendu",
        "state.calm": "calme",
        "report.title": "Rapport d'appel : {name}",
        "report.scorecard": "Bilan",
        "report.timeline": "Chronologie",
        "report.prompts": "Repères",
        "report.escalations": "Épisodes de tension du client",
        "report.events": "Chevauchements et longs silences",
        "report.transcript": "Transcription",
        "report.th.time": "heure",
        "report.th.kind": "type",
        "report.th.prompt": "repère",
        "report.th.detail": "détail",
        "report.th.severity": "gravité",
        "report.no_prompts": "Aucun repère dans cet appel.",
        "report.no_escalation": "Aucune tension du client détectée.",
        "report.no_customer": "Pas de canal client dans cet appel.",
        "report.none": "Aucun.",
        "report.no_transcript": "Pas de transcription (désactivée, ou aucun mot trouvé).",
        "report.who.agent": "Agent",
        "report.who.customer": "Client",
    },
}


def _lang(lang: str | None) -> str:
    return lang if lang in CATALOGUE else "en"


def message(key: str, lang: str | None = "en", /, **values: Any) -> str:
    """The template ``key`` in ``lang`` (``en``/``fr``; English where French lacks
    it), formatted with ``values``."""
    table = CATALOGUE[_lang(lang)]
    template = table.get(key, CATALOGUE["en"][key])
    return template.format(**values) if values else template


def overlay_strings(lang: str | None) -> dict[str, str]:
    """The overlay's fixed strings in ``lang`` (keys without the ``overlay.`` prefix)."""
    return {k.split(".", 1)[1]: v for k, v in CATALOGUE[_lang(lang)].items() if k.startswith("overlay.")}


# ---------------------------------------------------------------- cue rendering


def _raised(ev: Mapping[str, Any], lang: str) -> str:
    """escalation.describe() in ``lang``: what rose and by how much."""
    from .escalation import MAX_LEVEL_DB, MAX_PITCH_ST, MAX_RATE_RATIO

    parts = []
    least = message("raised.at_least", lang)
    if ev.get("level_rel_db") is not None:
        v = float(ev["level_rel_db"])
        parts.append(message("raised.level", lang, at_least=least if v >= MAX_LEVEL_DB else "", v=v))
    if ev.get("pitch_st") is not None:
        v = float(ev["pitch_st"])
        parts.append(message("raised.pitch", lang, at_least=least if v >= MAX_PITCH_ST else "", v=v))
    if ev.get("rate_rel") is not None:
        r = float(ev["rate_rel"])
        parts.append(message("raised.rate", lang, at_least=least if r >= MAX_RATE_RATIO else "", v=(r - 1.0) * 100))
    return ", ".join(parts)


def _pace_detail(ev: Mapping[str, Any], lang: str) -> tuple[str, str]:
    if ev.get("wpm_source") == "words":
        if ev.get("basis") == "calm" and ev.get("calm_wpm") is not None:
            d = message("pace.detail.calm", lang, wpm=ev["wpm"], calm_wpm=ev["calm_wpm"])
        else:
            d = message("pace.detail.ceiling", lang, wpm=ev["wpm"], ceiling_wpm=ev["ceiling_wpm"])
        return d, message("pace.short.words", lang, wpm=ev["wpm"])
    pct = (float(ev["pace_rel"]) - 1.0) * 100.0
    return message("pace.detail.acoustic", lang, pct=pct), message("pace.short.acoustic", lang, pct=pct)


def _decimal(text: str, lang: str) -> str:
    """French writes a decimal comma: "10.0 s" -> "10,0 s" (digits on both sides only)."""
    return re.sub(r"(?<=\d)\.(?=\d)", ",", text) if lang == "fr" else text


def render_prompt(kind: str, evidence: Mapping[str, Any], lang: str) -> tuple[str, str] | None:
    """``(headline, detail)`` of a non-phrase cue rendered from its evidence in
    ``lang``, without the coach's "(also ...)" suffix; None for a kind the catalogue
    does not know or evidence it cannot read."""
    r = _render_prompt(kind, evidence, lang)
    return None if r is None else (r[0], _decimal(r[1], lang))


def _render_prompt(kind: str, evidence: Mapping[str, Any], lang: str) -> tuple[str, str] | None:
    ev = evidence
    try:
        if kind == "pace":
            return message("pace.headline", lang), _pace_detail(ev, lang)[0]
        if kind == "pitch":
            return message("pitch.headline", lang), message(
                "pitch.detail", lang, pitch_st=ev["pitch_st"], f0_hz=ev["f0_hz"], baseline_f0_hz=ev["baseline_f0_hz"]
            )
        if kind == "volume":
            return message("volume.headline", lang), message("volume.detail", lang, level_rel_db=ev["level_rel_db"])
        if kind == "overtalk":
            return message("overtalk.headline", lang), message(
                "overtalk.detail", lang, customer_talking_s=ev["customer_talking_s"]
            )
        if kind == "customer_escalation":
            return (
                message("customer_escalation.headline", lang),
                message("customer_escalation.detail", lang, raised=_raised(ev, lang)),
            )
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _short(kind: str, ev: Mapping[str, Any], lang: str) -> str | None:
    try:
        if kind == "pace":
            return _pace_detail(ev, lang)[1]
        if kind == "pitch":
            return message("pitch.short", lang, pitch_st=ev["pitch_st"])
        if kind == "volume":
            return message("volume.short", lang, level_rel_db=ev["level_rel_db"])
    except (KeyError, TypeError, ValueError):
        return None
    return None


#: The catalogue keys of the shorts the coach writes into "(also ...)" and of the details
#: of the cues an evidence ``also`` item names (its also-items keep no evidence of their
#: own, only the text): such a text is read back by the template it was made from, in
#: any catalogue language, and made again in the cue language.
_SHORT_KEYS = ("pace.short.words", "pace.short.acoustic", "pitch.short", "volume.short")
_DETAIL_KEYS = {
    "pace": ("pace.detail.calm", "pace.detail.ceiling", "pace.detail.acoustic"),
    "pitch": ("pitch.detail",),
    "volume": ("volume.detail",),
    "overtalk": ("overtalk.detail",),
}
_FIELD_RE = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@lru_cache(maxsize=64)
def _template_re(template: str) -> re.Pattern[str]:
    """A regex that reads back the numbers a number-only ``template`` was formatted with
    (``{wpm:.0f} wpm`` -> ``(?P<wpm>...) wpm``; decimal point or comma)."""
    out, pos = [], 0
    for m in _FIELD_RE.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>[+-]?\\d+(?:[.,]\\d+)?)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "$")


def _retemplate(text: str, keys: tuple[str, ...], lang: str) -> str | None:
    """``text`` made from one of the templates ``keys`` (in any catalogue language),
    made again in ``lang``; None when it matches none."""
    text = text.strip()
    for key in keys:
        for src in CUE_LANGUAGES:
            m = _template_re(CATALOGUE[src][key]).match(text)
            if m:
                values = {k: float(v.replace(",", ".")) for k, v in m.groupdict().items()}
                return _decimal(message(key, lang, **values), lang)
    return None


def _translate_short(text: str, lang: str) -> str:
    got = _retemplate(text, _SHORT_KEYS, lang)
    return text if got is None else got


def _localize_also(items: Any, lang: str) -> Any:
    """The evidence ``also`` list (``kind``, ``severity``, ``excess_margins``,
    ``detail`` of each cue shown with the headline's) with each ``detail`` in ``lang``
    (a text no catalogue template made is kept)."""
    if not isinstance(items, list):
        return items
    out = []
    for it in items:
        if isinstance(it, Mapping) and isinstance(it.get("detail"), str) and it.get("kind") in _DETAIL_KEYS:
            got = _retemplate(it["detail"], _DETAIL_KEYS[str(it["kind"])], lang)
            it = {**it, "detail": got} if got is not None else dict(it)
        out.append(it)
    return out


@lru_cache(maxsize=4)
def _playbook_rules(lang: str) -> dict[str, tuple[str, str]]:
    from .text.playbook import load_playbook

    return {r.id: (r.headline, r.detail) for r in load_playbook(language=lang).rules}


def _phrase(prompt_headline: str, prompt_detail: str, ev: Mapping[str, Any], lang: str) -> tuple[str, str]:
    """A phrase cue in ``lang``: when its headline is a built-in rule's (of any
    language), that rule's text in ``lang``; a user's own rule (or override) keeps
    the text its author wrote."""
    rid = str(ev.get("rule"))
    target = _playbook_rules(lang).get(rid)
    if target is None or not any(_playbook_rules(other).get(rid, ("",))[0] == prompt_headline for other in CUE_LANGUAGES):
        return prompt_headline, prompt_detail
    headline, detail = target
    name = ev.get("name")
    if name and "{name}" in detail:
        detail = detail.replace("{name}", str(name))
    return headline, detail


def localize(prompt: Prompt, lang: str | None) -> Prompt:
    """``prompt`` with headline and detail in ``lang`` (``en``/``fr``).

    The core emits its cues in English, so an English non-phrase prompt is returned
    unchanged (the pipeline's own text, byte for byte). Phrase cues of a built-in rule
    take the rule of the same id from the playbook of ``lang``; other kinds are
    rendered from their evidence (:func:`render_prompt`), with the coach's "(also …)"
    list translated. A kind or evidence the catalogue cannot render keeps its text."""
    lang = _lang(lang)
    if lang == "en" and prompt.kind != "phrase" and prompt.headline == CATALOGUE["en"].get(f"{prompt.kind}.headline"):
        return prompt
    d = localize_dict(
        {"kind": prompt.kind, "headline": prompt.headline, "detail": prompt.detail, "evidence": prompt.evidence}, lang
    )
    return dataclasses.replace(prompt, headline=d["headline"], detail=d["detail"])


def localize_dict(p: Mapping[str, Any], lang: str | None) -> dict[str, Any]:
    """:func:`localize` for a prompt as a dict (an analyze document's ``prompts``
    entry, an overlay ``prompt`` message): keys ``kind``, ``headline``, ``detail``,
    ``evidence``; returns a new dict."""
    lang = _lang(lang)
    out = dict(p)
    ev = p.get("evidence") or {}
    kind = str(p.get("kind"))
    if lang == "en" and kind != "phrase" and p.get("headline") == CATALOGUE["en"].get(f"{kind}.headline"):
        return out  # the pipeline's own English text, byte for byte
    if kind == "phrase":
        headline, detail = _phrase(str(p.get("headline", "")), str(p.get("detail", "")), ev, lang)
        out["headline"], out["detail"] = headline, detail
        return out
    rendered = render_prompt(kind, ev, lang)
    if rendered is None:
        return out
    headline, detail = rendered
    also = ev.get("also")
    if also:
        m = re.search(r" \((?:also|aussi) (.*)\)$", str(p.get("detail", "")))
        if m:
            items = ", ".join(_translate_short(s, lang) for s in m.group(1).split(", "))
            detail = message("also", lang, detail=detail, items=items)
        out["evidence"] = {**ev, "also": _localize_also(also, lang)}
    out["headline"], out["detail"] = headline, detail
    return out
