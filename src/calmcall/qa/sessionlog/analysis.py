"""A session as the ``analyze --json`` document, so scorecards and reports treat sessions
and analysed files alike."""

from __future__ import annotations

from typing import Any

from .reader import SessionLog


def session_to_analysis(session: SessionLog) -> dict[str, Any]:
    """Turn a session into the ``analyze --json`` document (:mod:`calmcall.document`),
    so scorecards and reports work the same for sessions and for analysed files. The
    per-speaker ``measures`` summary and ``suppressed_prompts`` are not logged: None."""
    from calmcall.document import analysis_document, strip_type

    meta = session.meta
    timeline = strip_type(session.of_type("measures"))
    has_customer = any(m.get("speaker") == "customer" for m in timeline)
    channels = meta.get("channels") if isinstance(meta.get("channels"), dict) else None
    if channels is None:
        channels = {"agent": 0, "customer": 1 if has_customer else None}
    baselines: dict[str, Any] = {"agent": None, "customer": None}
    for b in session.of_type("baseline"):
        if b.get("speaker") in baselines and isinstance(b.get("baseline"), dict):
            baselines[b["speaker"]] = b["baseline"]
    audio = {role: str(p) for role, p in session.audio_paths().items()}
    doc = analysis_document(
        file=str(meta.get("file") or session.path),
        duration_s=session.duration_s,
        channels=channels,
        prompts=strip_type(session.prompts),
        words=strip_type(session.words),
        timeline=timeline,
        customer_states=strip_type(session.of_type("customer_state")),
        baselines=baselines,
        config=config if isinstance(config := meta.get("config"), dict) else {},
        session={
            "session_id": session.session_id,
            "path": str(session.path),
            "started_at": session.header.get("started_at"),
            "agent": meta.get("agent"),
            "source": meta.get("source"),
            "complete": session.complete,
            "torn_tail": session.torn_tail,
            "skipped_lines": session.skipped_lines,
            "bad_records": session.bad_records,
            "damage": session.damage_note,
            "audio": audio,
        },
    )
    language = _language(meta.get("config"), session)
    if language is not None:
        doc["language"] = language
    return doc


def _language(config: Any, session: SessionLog) -> dict[str, Any] | None:
    """The document's ``language`` block, as ``analyze`` writes it for a call not in
    English or with cues not in English (``call``, ``cues``, and for ``auto`` the
    logged ``detection``); None for an English call (or a log without a config)."""
    section = config.get("language") if isinstance(config, dict) else None
    if not isinstance(section, dict):
        return None
    call, cues = section.get("call", "en"), section.get("cues", "same")
    if call not in ("en", "fr", "auto") or cues not in ("same", "en", "fr"):
        return None
    detection = session.language if call == "auto" else None
    detected = detection.get("language") if detection is not None else None
    cue = cues if cues != "same" else (detected or "en") if call == "auto" else call
    if call == "en" and cue == "en":
        return None
    out: dict[str, Any] = {"call": call, "cues": cue}
    if call == "auto":
        out["detection"] = {k: v for k, v in (detection or {"language": None}).items() if k not in ("type", "t_s")}
    return out
