"""The message catalogue (calmcall.messages): its English rendering is the pipeline's
own text for every cue kind (so the two cannot drift), its French rendering is French,
and the overlay, summary and report take their strings from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from calmcall.config import Config, with_language
from calmcall.events import Prompt
from calmcall.messages import CATALOGUE, localize, localize_dict, overlay_strings, render_prompt

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "sample_call.wav"
KINDS = {"pace", "pitch", "volume", "overtalk", "customer_escalation"}


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The bundled sample call analysed with words (tiny.en) and without, plus the
    scripted "pace" call without words (the acoustic pace cue), when espeak-ng is here."""
    import shutil
    import sys

    from calmcall.analysis import analyze_file

    out = {"words": analyze_file(SAMPLE, config=Config()), "prosody": analyze_file(SAMPLE, config=Config(), transcribe=False)}
    if shutil.which("espeak-ng") is not None:
        sys.path.insert(0, str(ROOT))
        from benchmarks.scripted import render_call, scenario

        path = tmp_path_factory.mktemp("pace") / "pace.wav"
        render_call(scenario("pace"), path)
        out["acoustic_pace"] = analyze_file(path, config=Config(), transcribe=False)
    return out


def _without_also(detail: str) -> str:
    return re.sub(r" \(also .*\)$", "", detail)


def test_catalogue_english_equals_the_pipeline_text(docs: dict[str, dict]) -> None:
    seen: set[str] = set()
    sources: set[str] = set()
    for doc in docs.values():
        for p in doc["prompts"]:
            if p["kind"] == "phrase":
                continue
            rendered = render_prompt(p["kind"], p["evidence"], "en")
            assert rendered is not None, p
            assert rendered == (p["headline"], _without_also(p["detail"])), p
            seen.add(p["kind"])
            if p["kind"] == "pace":
                sources.add(p["evidence"]["wpm_source"])
    assert KINDS <= seen, f"the sample call no longer shows every kind: {seen}"
    if "acoustic_pace" in docs:
        assert sources == {"words", "syllables"}  # both pace details (word pace, acoustic estimate)


def test_english_localize_is_the_identity(docs: dict[str, dict]) -> None:
    for p in docs["words"]["prompts"]:
        assert localize_dict(p, "en") == p
        prompt = Prompt(
            t_s=p["t_s"],
            kind=p["kind"],
            headline=p["headline"],
            detail=p["detail"],
            severity=p["severity"],
            evidence=p["evidence"],
        )
        assert localize(prompt, "en") is prompt or localize(prompt, "en") == prompt


def test_french_rendering_of_every_kind(docs: dict[str, dict]) -> None:
    english_words = re.compile(r"\b(louder|faster|higher|calm level|semitones|caller|wpm)\b")
    for doc in docs.values():
        for p in doc["prompts"]:
            fr = localize_dict(p, "fr")
            if p["kind"] == "phrase":
                continue
            assert fr["headline"] == CATALOGUE["fr"][f"{p['kind']}.headline"]
            assert not english_words.search(fr["detail"]), fr["detail"]
            assert fr["evidence"] == p["evidence"] and fr["t_s"] == p["t_s"]  # only the text changes
            # the measured numbers are kept (French decimal comma)
            for num in re.findall(r"\d+\.\d", _without_also(p["detail"])):
                assert num.replace(".", ",") in fr["detail"]
            assert localize_dict(fr, "en") == {**p, "detail": localize_dict(fr, "en")["detail"]}
            assert _without_also(localize_dict(fr, "en")["detail"]) == _without_also(p["detail"])


def test_also_list_is_translated() -> None:
    p = {
        "kind": "pitch",
        "headline": "Lower pitch",
        "severity": "high",
        "t_s": 3.0,
        "detail": "Your pitch is +4.2 semitones above your calm level (150 Hz vs 118 Hz) (also 210 wpm, +7 dB louder)",
        "evidence": {"pitch_st": 4.2, "f0_hz": 150.0, "baseline_f0_hz": 118.0, "also": [{"kind": "pace"}, {"kind": "volume"}]},
    }
    fr = localize_dict(p, "fr")
    assert fr["detail"] == (
        "Votre voix est +4,2 demi-tons au-dessus de votre niveau calme (150 Hz contre 118 Hz) "
        "(aussi 210 mots/min, +7 dB plus fort)"
    )


def test_phrase_cues_follow_the_playbook_of_the_cue_language() -> None:
    from calmcall.text.playbook import load_playbook

    en, fr = load_playbook(language="en"), load_playbook(language="fr")
    for rid in ("defensive.policy", "apology.bare_sorry", "escalation.manager_early"):
        p = {
            "kind": "phrase",
            "headline": en.rule(rid).headline,
            "detail": en.rule(rid).detail,
            "evidence": {"rule": rid},
            "t_s": 1.0,
            "severity": "medium",
        }
        to_fr = localize_dict(p, "fr")
        assert (to_fr["headline"], to_fr["detail"]) == (fr.rule(rid).headline, fr.rule(rid).detail)
        back = localize_dict(to_fr, "en")
        assert (back["headline"], back["detail"]) == (en.rule(rid).headline, en.rule(rid).detail)
    own = {"kind": "phrase", "headline": "House rule", "detail": "Our own words", "evidence": {"rule": "defensive.policy"}}
    assert localize_dict(own, "fr") == own  # a user's override keeps its author's text


def test_overlay_keys_exist_in_both_languages_and_fallbacks_match() -> None:
    js = (ROOT / "src" / "calmcall" / "web" / "overlay.js").read_text(encoding="utf-8")
    html = (ROOT / "src" / "calmcall" / "web" / "index.html").read_text(encoding="utf-8")
    used = dict(re.findall(r'T\("(\w+)", "([^"]*)"\)', js))
    assert len(used) >= 15
    en, fr = overlay_strings("en"), overlay_strings("fr")
    for key, fallback in used.items():
        assert en[key] == fallback, key  # the page's built-in English is the catalogue's
        assert key in fr
    for key, text in re.findall(r'data-i18n="(\w+)"[^>]*>([^<]*)<', html):
        assert en[key] == text, key
        assert key in fr
    assert set(en) == set(fr)


def test_summary_in_french(docs: dict[str, dict]) -> None:
    from calmcall.summary import format_summary

    doc = docs["words"]
    en = format_summary(doc)
    fr = format_summary(doc, "fr")
    assert en.startswith("calmcall analysis of") and "Prompts (" in en
    assert fr.startswith("analyse calmcall de") and "Repères (" in fr and "Mesures (" in fr
    assert len(en.splitlines()) == len(fr.splitlines())


def test_report_in_french(docs: dict[str, dict]) -> None:
    from calmcall.qa.report import render_report

    html = render_report(docs["words"], lang="fr")
    assert '<html lang="fr">' in html
    for heading in ("Bilan", "Chronologie", "Repères", "Transcription"):
        assert f">{heading}</h2>" in html
    assert CATALOGUE["fr"]["pitch.headline"] in html and "Lower pitch" not in html
    assert '<html lang="en">' in render_report(docs["words"])


def test_analyze_document_in_french_cues(docs: dict[str, dict]) -> None:
    """An English call with --cue-language fr: the document's prompts are French,
    and the document says so; the English document has no language block."""
    from calmcall.analysis import analyze_file

    cfg = with_language(Config(), None, "fr")
    doc = analyze_file(SAMPLE, config=cfg, transcribe=False)
    assert doc["language"] == {"call": "en", "cues": "fr"}
    assert {p["headline"] for p in doc["prompts"]} <= {CATALOGUE["fr"][f"{k}.headline"] for k in KINDS}
    assert "language" not in docs["prosody"]
    assert [p["t_s"] for p in doc["prompts"]] == [p["t_s"] for p in docs["prosody"]["prompts"]]


def test_cli_flags(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = tmp_path / "a.json"
    proc = subprocess.run(
        [sys.executable, "-m", "calmcall", "analyze", str(SAMPLE), "--no-transcribe", "--cue-language", "fr", "--json", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("analyse calmcall de") and "Repères (" in proc.stdout
    assert json.loads(out.read_text())["language"] == {"call": "en", "cues": "fr"}
    bad = subprocess.run(
        [sys.executable, "-m", "calmcall", "analyze", str(SAMPLE), "--language", "de"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2 and "--language" in bad.stderr and "'fr'" in bad.stderr


def test_the_evidence_also_items_are_in_the_cue_language() -> None:
    """Each cue an ``also`` item names keeps only its detail text (the coach keeps no
    evidence of its own for it): that text is read back by its English template and
    made again from the French one, and back."""
    also = [
        {"kind": "pace", "severity": "medium", "excess_margins": 1.2, "detail": "210 wpm - your calm pace is 160"},
        {"kind": "pace", "severity": "medium", "excess_margins": 1.1, "detail": "195 wpm - above the 180 wpm ceiling"},
        {"kind": "pace", "severity": "low", "excess_margins": 0.4, "detail": "~35 % faster than your calm pace"},
        {"kind": "volume", "severity": "high", "excess_margins": 2.0, "detail": "You are 7 dB louder than your calm level"},
        {"kind": "volume", "severity": "low", "detail": "a text no template made"},
    ]
    p = {
        "kind": "pitch",
        "headline": "Lower pitch",
        "severity": "high",
        "t_s": 3.0,
        "detail": "Your pitch is +4.2 semitones above your calm level (150 Hz vs 118 Hz) (also 210 wpm, +7 dB louder)",
        "evidence": {"pitch_st": 4.2, "f0_hz": 150.0, "baseline_f0_hz": 118.0, "also": also},
    }
    fr = localize_dict(p, "fr")
    got = [a["detail"] for a in fr["evidence"]["also"]]
    assert got == [
        CATALOGUE["fr"]["pace.detail.calm"].format(wpm=210, calm_wpm=160),
        CATALOGUE["fr"]["pace.detail.ceiling"].format(wpm=195, ceiling_wpm=180),
        CATALOGUE["fr"]["pace.detail.acoustic"].format(pct=35),
        CATALOGUE["fr"]["volume.detail"].format(level_rel_db=7),
        "a text no template made",
    ]
    assert [a["severity"] for a in fr["evidence"]["also"]] == [a["severity"] for a in also]
    assert p["evidence"]["also"][0]["detail"] == "210 wpm - your calm pace is 160"  # the input is not changed
    back = localize_dict(fr, "en")
    assert back["evidence"]["also"] == also and back["detail"] == p["detail"]
