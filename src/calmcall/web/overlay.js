// calmcall overlay: listens to the local calmcall websocket and shows cues.
// Protocol: docs/live.md (version 1). The page never sends anything to the server.
"use strict";

(function () {
  const PROTOCOL = 1;
  const PROMPT_FULL_MS = 6000;     // prompt fully visible
  const PROMPT_IDLE_MS = 30000;    // then faded; back to "Listening" after this
  const STALE_MS = 4000;           // no message for this long while open -> "no data"
  const DEFAULT_BAND = {
    pace: { min: 0.5, max: 1.8, lo: 0.85, hi: 1.15 },
    pitch: { min: -6, max: 12, lo: -3, hi: 3 },
    volume: { min: -15, max: 15, lo: -6, hi: 6 },
  };

  const $ = (id) => document.getElementById(id);
  // strings of the cue language: the server's hello carries them from calmcall.messages
  // when it is not English; English is what this file and index.html say
  const T = (key, fallback) => (state.hello && state.hello.strings && state.hello.strings[key]) || fallback;
  const state = {
    conn: "connecting", closeCode: null, attempts: 0, hello: null,
    prompts: [], measures: 0, lastMeasures: null, customer: null,
    status: null, lastMessageAt: 0, band: JSON.parse(JSON.stringify(DEFAULT_BAND)),
  };
  window.calmcall = state;  // read by tests and benchmarks

  const now = () => performance.timeOrigin + performance.now();

  // ---- token: from the URL fragment, kept in this tab's sessionStorage, removed from the address bar
  function readToken() {
    const m = /(?:^#|&)token=([A-Za-z0-9_\-]+)/.exec(location.hash);
    if (m) {
      try { sessionStorage.setItem("calmcall.token", m[1]); } catch (e) { /* private mode */ }
      history.replaceState(null, "", location.pathname);
      return m[1];
    }
    try { return sessionStorage.getItem("calmcall.token"); } catch (e) { return null; }
  }
  const token = readToken();

  // ---- connection state
  function setConn(kind, text) {
    state.conn = kind;
    const el = $("conn");
    el.className = "conn conn-" + kind;
    $("conn-text").textContent = text;
    $("reconnect").hidden = kind === "open";
  }

  let ws = null;
  let retryTimer = null;

  function connect() {
    clearTimeout(retryTimer);
    if (!token) {
      setConn("refused", T("no_token", "No token: open the URL calmcall printed"));
      return;
    }
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) return;
    setConn("connecting", state.attempts ? T("reconnecting", "Reconnecting…") : T("connecting", "Connecting…"));
    const sock = new WebSocket("ws://" + location.host + "/ws?token=" + encodeURIComponent(token));
    ws = sock;
    sock.onmessage = (ev) => {
      state.lastMessageAt = now();
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (!msg || msg.v !== PROTOCOL) return;
      handle(msg);
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      state.closeCode = ev.code;
      if (ev.code === 1008) {
        setConn("refused", T("refused", "Link refused: open the new URL calmcall printed"));
        return;  // a new token is needed; retrying cannot help
      }
      scheduleRetry();
    };
  }

  function scheduleRetry() {
    state.attempts += 1;
    const base = Math.min(10000, 500 * Math.pow(2, Math.min(state.attempts - 1, 5)));
    const delay = base * (0.75 + Math.random() * 0.5);
    setConn("closed", T("disconnected", "Disconnected, retrying in {s} s").replace("{s}", String(Math.ceil(delay / 1000))));
    retryTimer = setTimeout(connect, delay);
  }

  $("reconnect").addEventListener("click", () => { state.attempts = 0; connect(); });

  setInterval(() => {
    if (state.conn === "open" && now() - state.lastMessageAt > STALE_MS) {
      $("conn-text").textContent = T("connected_no_data", "Connected, no data");
    }
  }, 1000);

  // ---- messages
  function handle(msg) {
    const d = msg.data || {};
    switch (msg.type) {
      case "hello": onHello(d); break;
      case "measures": onMeasures(d); break;
      case "prompt": onPrompt(d, msg); break;
      case "customer_state": onCustomer(d); break;
      case "baseline": onBaseline(d); break;
      case "word": onWord(d); break;
      case "partial": onPartial(d); break;
      case "status": onStatus(d); break;
      case "band": setBand(d); break;
      default: break;  // unknown types are ignored (forward compatible)
    }
  }

  function onHello(d) {
    state.hello = d;
    state.attempts = 0;
    if (d.strings) {  // the static page text, in the cue language
      document.documentElement.lang = d.lang || "en";
      document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = T(el.dataset.i18n, el.textContent); });
    }
    if (d.band) setBand(d.band);
    if (Array.isArray(d.roles) && d.roles.indexOf("customer") < 0 && !state.customer) {
      $("customer").textContent = T("no_customer", "no customer input");
    }
    let label = T("live", "Live");
    if (d.mode === "replay") label = T("replay", "Replay") + (d.speed && d.speed !== 1 ? " ×" + d.speed : "");
    setConn("open", label);
  }

  function setBand(b) {
    for (const k of ["pace", "pitch", "volume"]) {
      if (b[k]) state.band[k] = Object.assign({}, state.band[k], b[k]);
    }
    layoutBands();
    if (state.lastMeasures) onMeasures(state.lastMeasures, true);
  }

  function pct(kind, v) {
    const b = state.band[kind];
    return Math.max(0, Math.min(100, (100 * (v - b.min)) / (b.max - b.min)));
  }

  function layoutBands() {
    for (const k of ["pace", "pitch", "volume"]) {
      const b = state.band[k];
      const band = $("g-" + k).querySelector(".g-band");
      const lo = pct(k, b.lo), hi = pct(k, b.hi);
      band.style.left = lo + "%";
      band.style.width = Math.max(0, hi - lo) + "%";
    }
  }

  function setGauge(kind, value, text) {
    const g = $("g-" + kind);
    const track = g.querySelector(".g-track");
    const mark = g.querySelector(".g-mark");
    if (value === null || value === undefined) {
      g.classList.add("idle");
      return;
    }
    const b = state.band[kind];
    const p = pct(kind, value);
    mark.style.left = p + "%";
    g.classList.remove("idle");
    const inBand = value >= b.lo && value <= b.hi;
    g.classList.toggle("in", inBand);
    g.classList.toggle("out", !inBand);
    $("v-" + kind).textContent = text;
    track.setAttribute("aria-valuenow", String(Math.round(p)));
    track.setAttribute("aria-valuetext", text + (inBand ? ", in your calm band" : ", outside your calm band"));
  }

  const sign = (x, digits) => (x > 0 ? "+" : x < 0 ? "−" : "±") + Math.abs(x).toFixed(digits);

  function onMeasures(d, redraw) {
    if (d.speaker !== "agent") return;
    if (!redraw) state.measures += 1;
    state.lastMeasures = d;
    if (d.baseline_status && d.baseline_status.startsWith("still learning") && !state.baselineShown)
      $("baseline").textContent = T("baseline", "baseline: ") + d.baseline_status;
    if (d.rate_rel !== null && d.rate_rel !== undefined) {
      const text = d.wpm ? Math.round(d.wpm) + " wpm" : sign((d.rate_rel - 1) * 100, 0) + " % pace";
      setGauge("pace", d.rate_rel, text);
    } else setGauge("pace", null);
    if (d.pitch_st !== null && d.pitch_st !== undefined) setGauge("pitch", d.pitch_st, sign(d.pitch_st, 1) + " st");
    else setGauge("pitch", null);
    if (d.level_rel_db !== null && d.level_rel_db !== undefined) setGauge("volume", d.level_rel_db, sign(d.level_rel_db, 1) + " dB");
    else setGauge("volume", null);
  }

  let fadeTimer = null, idleTimer = null;
  function onPrompt(d, msg) {
    const box = $("prompt");
    $("headline").textContent = d.headline || d.kind || "";
    $("detail").textContent = d.detail || "";
    box.className = "prompt prompt-active sev-" + (d.severity || "low");
    const rec = { t_s: d.t_s, kind: d.kind, headline: d.headline, sent_ms: msg.sent_ms, received_ms: now(), shown_ms: null };
    state.prompts.push(rec);
    if (state.prompts.length > 500) state.prompts.shift();
    requestAnimationFrame(() => { rec.shown_ms = now(); });
    clearTimeout(fadeTimer); clearTimeout(idleTimer);
    fadeTimer = setTimeout(() => box.classList.add("prompt-faded"), PROMPT_FULL_MS);
    idleTimer = setTimeout(() => {
      box.className = "prompt prompt-idle";
      $("headline").textContent = T("listening", "Listening");
      $("detail").textContent = "";
    }, PROMPT_IDLE_MS);
  }

  function onCustomer(d) {
    state.customer = d.state;
    const el = $("customer");
    el.textContent = d.state === "escalated" ? T("escalated", "Escalated") : d.state === "calm" ? T("calm", "Calm") : "—";
    el.className = "c-state c-" + (d.state || "unknown");
  }

  function onBaseline(d) {
    if (d.speaker !== "agent" || !d.baseline) return;
    const b = d.baseline;
    const parts = [];
    if (b.wpm) parts.push(Math.round(b.wpm) + " wpm");
    if (b.f0_hz) parts.push(Math.round(b.f0_hz) + " Hz");
    state.baselineShown = true;
    $("baseline").textContent = T("calm_prefix", "calm: ") + parts.join(" · ");
  }

  // ---- transcript
  const lines = $("transcript");
  const partials = {};
  let lastLine = null;
  function addLine(speaker, cls) {
    const div = document.createElement("div");
    div.className = "t-line" + (cls ? " " + cls : "");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = speaker === "customer" ? T("customer", "Customer") : T("you", "You");
    const text = document.createElement("span");
    text.className = "txt";
    div.append(who, text);
    return div;
  }
  function scrollDown() { lines.scrollTop = lines.scrollHeight; }
  function onWord(d) {
    if (!lastLine || lastLine.dataset.speaker !== d.speaker || d.start_s - Number(lastLine.dataset.end) > 2.0) {
      lastLine = addLine(d.speaker);
      lastLine.dataset.speaker = d.speaker;
      const before = partials[d.speaker];
      lines.insertBefore(lastLine, before && before.parentNode === lines ? before : null);
      while (lines.children.length > 80) lines.removeChild(lines.firstChild);
    }
    lastLine.dataset.end = d.end_s;
    const t = lastLine.querySelector(".txt");
    t.textContent = (t.textContent ? t.textContent + " " : "") + d.text;
    scrollDown();
  }
  function onPartial(d) {
    let el = partials[d.speaker];
    if (!d.text) { if (el) { el.remove(); delete partials[d.speaker]; } return; }
    if (!el || el.parentNode !== lines) {
      el = addLine(d.speaker, "t-partial");
      partials[d.speaker] = el;
      lines.appendChild(el);
    }
    el.querySelector(".txt").textContent = d.text;
    scrollDown();
  }

  // ---- status
  function onStatus(d) {
    state.status = d;
    const info = d.info || {};
    const devs = info.devices || [];
    $("devices").textContent = devs.length
      ? devs.map((x) => (x.role === "customer" ? T("customer", "Customer") + ": " : T("mic", "Mic") + ": ") + x.name + (x.state && x.state !== "ok" ? " (" + x.state + ")" : "")).join(" · ")
      : (info.source || "—");
    const down = devs.some((x) => x.state && x.state !== "ok");
    $("devices").classList.toggle("conn-refused", down);
    const s = [];
    if (info.lag_ms !== undefined && info.lag_ms !== null) s.push("lag " + Math.round(info.lag_ms) + " ms");
    if (info.overflows) s.push("overflows " + info.overflows);
    if (info.dropped_blocks) s.push("dropped " + info.dropped_blocks);
    s.push("model " + (info.model || "off"));
    const logStopped = !!(info.log && info.log.state === "stopped");
    if (logStopped) s.unshift("session log stopped at " + info.log.stopped_at_s + " s: " + info.log.error + " (coaching goes on)");
    $("stats").textContent = s.join(" · ");
    $("stats").classList.toggle("conn-refused", logStopped);
  }

  // ---- keyboard
  $("compact").addEventListener("click", toggleCompact);
  function toggleCompact() {
    const on = document.body.classList.toggle("compact");
    $("compact").setAttribute("aria-pressed", String(on));
  }
  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const k = ev.key.toLowerCase();
    if (k === "t") { const b = $("transcript-box"); b.open = !b.open; }
    else if (k === "c") toggleCompact();
    else if (k === "r" && state.conn !== "open") { state.attempts = 0; connect(); }
  });

  layoutBands();
  connect();
})();
