"use strict";
// The booth screen: which panel shows and what each button does. The kiosk API holds the truth
// (the session's state and message_key); the screen adds only what the official acknowledges
// (voter checked, verified result seen) and the waiting loops for the card and the finger.

const CONFIG = JSON.parse(document.getElementById("booth-config").textContent);
const CARD_WAIT_ATTEMPTS = 100;    // each read waits up to the kiosk's card timeout (1 s by default): ~2 min
const FINGER_WAIT_ATTEMPTS = 12;   // each capture waits up to the kiosk's finger timeout
const PAUSE_MS = 250;              // between two waits, so a device that answers at once is not hammered
const DEVICE_POLL_MS = 2000;
const LIVENESS_POLL_MS = 150;      // how often the screen asks which instruction the liveness check shows
const SIGNED_OUT_CODES = new Set(["invalid_token", "token_expired", "unauthorized"]);
const WARNING_KEYS = new Set([
  "card.unreadable", "card.waiting_stopped", "card.reader_fault", "finger.too_dry", "finger.too_wet", "finger.press_harder",
  "finger.retry", "finger.try_another", "finger.unusable", "finger.waiting_stopped", "ink.retry", "ink.check_by_eye",
  "liveness.no_face", "liveness.failed",
]);
const DEVICE_ICONS = {ready: "icon-ok", busy: "icon-busy", fault: "icon-no", not_configured: "icon-off"};
const STEP_OF_PANEL = {card: "card", voter: "voter", finger: "finger", face: "face", result: "result", ink: "ink",
  confirm: "confirm"};
const STEP_ORDER = ["card", "voter", "finger", "face", "result", "ink", "confirm"];

const ui = {
  mode: "booth",          // "booth" or "eod" (end of day)
  principal: null,        // {username, role, display_name}
  session: null,          // the API's session object
  voterChecked: false,    // the official looked at the voter-found panel
  verifiedSeen: false,    // the official saw VERIFIED before the ink check
  noCardRequested: false, // the supervisor form for the no-card fallback is open
  pending: null,          // a text key shown while a step runs ("finger.capturing", ...)
  waitStopped: false,     // a waiting loop gave up; the official restarts it
  acting: false,
  loop: {generation: 0, running: null},
  summary: null,
  station: null,          // the station's kiosks added up (supervisors only)
  exported: null,
  devicesTimer: null,
  registryLost: false,    // /health says the station's registry server cannot be reached
  resumeCardWait: false,  // the card wait was stopped for the lost registry: start it again on return
  errorCode: null,        // code of the failure in the error banner
  livenessCue: null,      // the instruction the running liveness check shows the voter ("blink", ...)
};

const $ = (id) => document.getElementById(id);
const t = (key, params) => I18n.t(key, params);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sessionPath = (step) => `/api/sessions/${encodeURIComponent(ui.session.session_id)}${step ? "/" + step : ""}`;

// -- rendering --------------------------------------------------------------------------------------

function panelFor(session) {
  switch (session.state) {
    case "waiting_for_card": return ui.noCardRequested ? "supervisor" : "card";
    case "capture_finger": return ui.voterChecked ? "finger" : "voter";
    case "identify_finger": return "finger";
    case "fingers_unusable": case "ink_on_record": case "liveness_failed": return "supervisor";
    case "capture_face": case "identify_face": case "check_liveness": return "face";
    case "check_ink": return ui.verifiedSeen ? "ink" : "result";
    case "awaiting_confirmation": return "confirm";
    default: return "result";
  }
}

function render() {
  const signedIn = ui.principal !== null;
  $("statusbar").hidden = !signedIn;
  $("nav-booth").hidden = !signedIn || ui.principal.role === "auditor" || ui.mode === "booth";
  $("nav-eod").hidden = !signedIn || ui.mode === "eod";
  $("official-name").textContent = signedIn ? ui.principal.display_name || ui.principal.username : "-";
  let panel;
  if (!signedIn) panel = "signin";
  else if (ui.mode === "eod") panel = "eod";
  else if (!ui.session) panel = "card";
  else panel = panelFor(ui.session);
  RENDERERS[panel](ui.session);
  for (const section of document.querySelectorAll("[data-panel]")) section.hidden = section.dataset.panel !== panel;
  if (document.body.dataset.showing !== panel) focusPanel(panel);
  document.body.dataset.showing = panel;
  renderSteps(panel);
  const running = ui.session && !ui.session.terminal;
  $("cancel-row").hidden = !(signedIn && ui.mode === "booth" && running);
  const busy = ui.acting || ui.loop.running !== null;
  for (const button of document.querySelectorAll(".step-action")) button.disabled = busy;
  // act() drops a click that comes while another action runs (a photo being compared, the summaries
  // still loading after sign-in), so the bar's and the end of day's buttons are off until it ends
  // rather than silently doing nothing.
  for (const button of document.querySelectorAll(".idle-action")) button.disabled = ui.acting;
  blockRegistrySteps();
}

// A new panel takes the keyboard focus on its first field or main button, so Enter does the step.
function focusPanel(panel) {
  const section = document.querySelector(`[data-panel="${panel}"]`);
  const target = section && section.querySelector("input:not([hidden]), select, button.primary:not([hidden])");
  if (target) setTimeout(() => target.focus(), 0);
}

// A step is marked done only when the session shows it happened: a lookup that ended the session
// (already voted, wrong station, not registered) or a skipped card (no-card fallback) leaves the
// later steps, or the card, unmarked.
function stepsDone(session) {
  const done = new Set();
  if (!session) return done;
  const state = session.state;
  const cardSkipped = (session.method || "").startsWith("fallback_no_card");
  if (state !== "waiting_for_card" && !cardSkipped) done.add("card");
  if (session.voter && (ui.voterChecked || (session.finger && session.finger.captured.length))) done.add("voter");
  if (session.finger && session.finger.captured.length) done.add("finger");
  if (session.match && session.match.face_score_band) done.add("face");
  const confirmedStates = ["check_ink", "awaiting_confirmation", "voted"];
  if (confirmedStates.includes(state) && (state !== "check_ink" || ui.verifiedSeen)) done.add("result");
  if (state === "awaiting_confirmation" || state === "voted") done.add("ink");
  if (state === "voted") done.add("confirm");
  return done;
}

function renderSteps(panel) {
  const steps = $("steps");
  steps.hidden = !(ui.principal && ui.mode === "booth");
  let current = STEP_OF_PANEL[panel];
  const state = ui.session && ui.session.state;
  if (panel === "supervisor") current = state === "fingers_unusable" ? "finger" : state === "ink_on_record" ? "voter"
    : state === "liveness_failed" ? "face" : "card";
  const done = stepsDone(ui.session);
  const ended = ui.session && ui.session.terminal;
  for (const item of steps.querySelectorAll("li")) {
    item.dataset.done = String(done.has(item.dataset.step));
    if (item.dataset.step === current && !ended) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
}

function setFeedback(id, key, params, tone) {
  const box = $(id);
  const chosen = tone || (WARNING_KEYS.has(key) || key.startsWith("face.") && key !== "face.look_at_camera"
    && key !== "face.capturing" ? "warn" : "info");
  box.dataset.tone = chosen;
  box.dataset.key = key;
  box.querySelector(".text").textContent = t(key, params);
  box.querySelector("use").setAttribute("href", chosen === "warn" ? "#icon-warn" : chosen === "ok" ? "#icon-ok"
    : chosen === "bad" ? "#icon-no" : "#icon-info");
}

function voterLine(session) {
  const voter = session && session.voter;
  if (!voter) return "";
  return `${voter.name} | ${t("voter.station")}: ${voter.station_id} | ${t("voter.id_number")}: ${voter.id_number_masked}`;
}

const RENDERERS = {
  signin() {},

  card(session) {
    let key = session ? session.message_key : "card.starting";
    if (ui.waitStopped) key = ui.cardFault ? "card.reader_fault" : "card.waiting_stopped";
    setFeedback("card-feedback", key);
    $("card-wait").hidden = !session || ui.loop.running !== null;   // after a pause or a reader fault
    $("card-no-card").disabled = !session || ui.acting;
  },

  voter(session) {
    const voter = session.voter || {};
    $("voter-name").textContent = voter.name || "";
    $("voter-station").textContent = voter.station_id || "";
    $("voter-id").textContent = voter.id_number_masked || "";   // never the full number
    $("voter-birth").textContent = voter.birth_date || "";
    // refused as not verified before (any kiosk of the station): this session is decided more strictly
    const before = voter.not_verified_before || 0;
    $("voter-refused-before").hidden = !before;
    if (before) setFeedback("voter-refused-before", "voter.not_verified_before", {count: before}, "warn");
    // No photo endpoint exists; with the policy off (default) the screen says so.
    $("voter-photo").querySelector(".text").textContent =
      t(CONFIG.show_photo ? "voter.photo_unavailable" : "voter.photo_hidden");
  },

  finger(session) {
    $("finger-voter").textContent = voterLine(session);
    const finger = session.finger.current || "any";
    $("finger-which").textContent = t("finger.which", {finger: t(`finger_name.${finger}`)});
    let key = ui.pending || session.message_key;
    if (ui.waitStopped && session.message_key === "finger.not_placed") key = "finger.waiting_stopped";
    setFeedback("finger-feedback", key);
    $("finger-attempt").textContent = session.finger.failures
      ? t("finger.attempt", {attempt: session.finger.attempts + 1, failures: session.finger.failures}) : "";
  },

  supervisor(session) {
    const mode = supervisorMode(session);
    const earlier = (session && session.ink_on_record) || {};
    $("supervisor-title").textContent = t(`panel.supervisor.${mode}`);
    const failure = session && session.liveness && session.liveness.reason;
    $("supervisor-explain").textContent = t(`supervisor.explain_${mode}`,
      {kiosk: earlier.kiosk_id, station: earlier.station_id, time: (earlier.found_at || "").slice(11, 16),
        failure: failure && I18n.has(`liveness_failure.${failure}`) ? t(`liveness_failure.${failure}`) : ""});
    $("supervisor-explain").dataset.tone = mode === "ink_on_record" || mode === "liveness" ? "warn" : "";
    $("supervisor-back").hidden = mode !== "no_card";
    const select = $("supervisor-reason");
    const reasons = {face_only: CONFIG.face_only_reasons, no_card: CONFIG.no_card_reasons,
      ink_on_record: CONFIG.ink_on_record_reasons, liveness: CONFIG.liveness_reasons}[mode];
    const chosen = select.dataset.mode === mode ? select.value : "";
    select.replaceChildren();
    const blank = new Option(t("supervisor.choose_reason"), "");
    select.add(blank);
    for (const reason of reasons) select.add(new Option(t(`reason.${reason}`), reason));
    select.value = chosen;
    select.dataset.mode = mode;
  },

  face(session) {
    $("face-voter").textContent = voterLine(session);
    if (ui.livenessCue) {   // the instruction for the voter, large, while the liveness check runs
      setFeedback("face-feedback", `liveness.cue_${ui.livenessCue}`, undefined, "cue");
    } else {
      setFeedback("face-feedback", ui.pending || session.message_key);
    }
    const key = session.state === "check_liveness" ? "button.check_liveness" : "button.take_photo";
    $("face-capture").dataset.i18n = key;
    $("face-capture").textContent = t(key);
  },

  result(session) {
    const view = resultView(session);
    const box = $("result");
    box.dataset.kind = view.kind;
    box.querySelector("use").setAttribute("href", `#${view.icon}`);
    $("result-title").textContent = t(view.title);
    $("result-detail").textContent = t(view.detail);
    $("result-go").hidden = !view.goTo;
    $("result-go").textContent = view.goTo ? t("result.go_to", {station: view.goTo}) : "";
    $("result-voter").textContent = voterLine(session);
    const method = session.method && I18n.has(`method.${session.method}`) ? t(`method.${session.method}`) : "";
    const band = session.match && session.match.score_band ? ` | ${t("result.match", {band: session.match.score_band})}` : "";
    $("result-method").textContent = (view.kind === "verified" || view.kind === "confirmed") && method ? t("result.method", {method}) + band : "";
    $("result-continue").hidden = session.state !== "check_ink";
    $("result-next").hidden = !session.terminal;
  },

  ink(session) {
    $("ink-voter").textContent = voterLine(session);
    const byEye = session.message_key === "ink.check_by_eye";
    setFeedback("ink-feedback", ui.pending || session.message_key);
    $("ink-check").hidden = byEye;
    $("ink-eye-ink").hidden = !byEye;
    $("ink-eye-none").hidden = !byEye;
  },

  confirm(session) {
    $("confirm-voter").textContent = voterLine(session);
  },

  eod() {
    const body = $("eod-counts").querySelector("tbody");
    body.replaceChildren();
    const counts = (ui.summary && ui.summary.counts) || {};
    for (const [name, value] of Object.entries(counts)) {
      const row = body.insertRow();
      row.dataset.count = name;
      const label = document.createElement("th");
      label.textContent = I18n.has(`count.${name}`) ? t(`count.${name}`) : name;
      row.appendChild(label);
      row.insertCell().textContent = String(value);
    }
    renderStation();
    $("export-credentials").hidden = ui.principal.role === "auditor";
    $("export-result").hidden = !ui.exported;
    if (ui.exported) {
      $("export-summary").textContent = t("eod.exported", ui.exported);
      $("export-hash").textContent = t("eod.sha256", ui.exported);
    }
  },
};

// Which approval the supervisor panel asks for.
function supervisorMode(session) {
  const state = session && session.state;
  return state === "fingers_unusable" ? "face_only" : state === "ink_on_record" ? "ink_on_record"
    : state === "liveness_failed" ? "liveness" : "no_card";
}

// VERIFIED only once the vote is marked; after the biometrics the screen says, neutrally, that the
// identity is confirmed and the ink check comes next.
// The supervisor's view of every kiosk on the station's registry: one row per kiosk and the total.
const STATION_COLUMNS = ["votes_marked", "refused", "ink_found", "fallbacks", "second_vote_attempts"];

function renderStation() {
  $("eod-station").hidden = !ui.station;
  if (!ui.station) return;
  const table = $("eod-station-table");
  const head = table.querySelector("thead");
  head.replaceChildren();
  const header = head.insertRow();
  for (const key of ["eod.kiosk", ...STATION_COLUMNS.map((c) => `count.${c}`)]) {
    const cell = document.createElement("th");
    cell.textContent = t(key);
    header.appendChild(cell);
  }
  const body = table.querySelector("tbody");
  body.replaceChildren();
  const rows = [...Object.entries(ui.station.kiosks), [t("eod.station_total"), ui.station.totals]];
  for (const [kiosk, counts] of rows) {
    const row = body.insertRow();
    row.dataset.kiosk = kiosk;
    const name = document.createElement("th");
    name.textContent = kiosk;
    row.appendChild(name);
    for (const column of STATION_COLUMNS) {
      const cell = row.insertCell();
      cell.dataset.count = column;
      cell.textContent = String(counts[column] || 0);
    }
  }
}

async function loadSummaries() {
  ui.summary = await Api.get("/api/summary");
  ui.station = ui.principal.role === "supervisor" ? await Api.get("/api/station/summary") : null;
}

function resultView(session) {
  switch (session.state) {
    case "check_ink":
      return {kind: "confirmed", icon: "icon-info", title: "result.identity_confirmed_title",
        detail: "result.verified_detail"};
    case "voted":
      return {kind: "verified", icon: "icon-ok", title: "result.verified", detail: "result.voted"};
    case "already_voted":
      return {kind: "already_voted", icon: "icon-stop", title: "result.already_voted_title", detail: "result.already_voted"};
    case "wrong_station":
      return {kind: "wrong_station", icon: "icon-go", title: "result.wrong_station_title", detail: "result.wrong_station",
        goTo: session.registered_station};
    case "cancelled":
      return {kind: "cancelled", icon: "icon-info", title: "result.cancelled_title", detail: "session.cancelled"};
    default: {
      let detail = I18n.has(session.message_key) ? session.message_key : "result.not_verified";
      if (session.reason === "no_usable_biometrics") detail = "result.no_usable_biometrics";
      if (session.reason === "ink_detected") {
        return {kind: "refused", icon: "icon-no", title: "result.ink_refused_title", detail: "result.ink_detected"};
      }
      return {kind: "refused", icon: "icon-no", title: "result.not_verified_title", detail};
    }
  }
}

// -- errors ---------------------------------------------------------------------------------------

// The banner keeps how to write its text, not the text: switching language re-writes it.
function showError(textOf) {
  ui.errorText = typeof textOf === "function" ? textOf : () => textOf;
  $("error-text").textContent = ui.errorText();
  $("error").hidden = false;
}

function hideError() {
  $("error").hidden = true;
  ui.errorCode = null;
}

function errorText(failure) {
  const details = failure.details || {};
  const params = {...details, code: failure.code || "screen"};
  if (failure.code === "device_fault" && details.device) params.device = t(`device.${details.device}`);
  const key = `error.${failure.code}`;
  return I18n.has(key) ? t(key, params) : t("error.generic", params);
}

async function handleFailure(failure) {
  ui.errorCode = failure && failure.code;
  if (!(failure instanceof ApiFailure)) {
    console.error(failure);
    showError(() => t("error.generic", {code: "screen"}));
    return;
  }
  if (failure.code === "network") {
    setOffline(true);
    showError(() => errorText(failure));
    return;
  }
  showError(() => errorText(failure));
  if (SIGNED_OUT_CODES.has(failure.code)) {
    forgetSignIn();
  } else if (failure.code === "session_not_found") {
    await newSession();
  } else if (failure.code === "invalid_step" && ui.session) {
    setSession(await Api.get(sessionPath()));
  }
}

function setOffline(offline) {
  $("offline").hidden = !offline;
}

// -- steps ----------------------------------------------------------------------------------------

function setSession(session) {
  ui.session = session;
  if (session) sessionStorage.setItem("booth.session", session.session_id);
  else sessionStorage.removeItem("booth.session");
}

// One manual step at a time; its buttons are disabled while it runs.
async function act(work, pendingKey) {
  if (ui.acting) return;
  ui.acting = true;
  ui.pending = pendingKey || null;
  hideError();
  render();
  try {
    await work();
  } catch (failure) {
    try { await handleFailure(failure); } catch (again) { showError(() => errorText(again)); }
  } finally {
    ui.acting = false;
    ui.pending = null;
    render();
  }
}

async function stopWaiting() {
  ui.loop.generation += 1;
  const running = ui.loop.running;
  if (running) await running;
}

// Repeat a waiting step (card, finger) until something is on the device, the loop is stopped, or
// it has waited long enough; then the official restarts it with a button. A failure ends the loop
// and is handled after it (handling may start a new session, which waits for this loop to end).
function waitFor(step, attempts, stillWaiting) {
  const generation = ++ui.loop.generation;
  ui.waitStopped = false;
  ui.cardFault = false;
  const run = (async () => {
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      if (generation !== ui.loop.generation || !ui.session) return null;
      if (attempt === 0 && step === "finger") { ui.pending = "finger.capturing"; render(); }
      let session;
      try {
        session = await Api.post(sessionPath(step));
      } catch (failure) {
        return failure;
      } finally {
        ui.pending = null;
      }
      setOffline(false);
      setSession(session);   // even when stopped meanwhile: the step may have moved the session on
      if (generation !== ui.loop.generation || !stillWaiting(session)) return null;
      render();
      await sleep(PAUSE_MS);
    }
    if (generation === ui.loop.generation) ui.waitStopped = true;
    return null;
  })();
  const tracked = run.then(async (failure) => {
    if (ui.loop.running === tracked) ui.loop.running = null;
    if (failure && generation === ui.loop.generation) {
      // a device fault ends the wait: the panel says so (and offers to retry) instead of still asking
      if (failure.code === "device_fault") { ui.waitStopped = true; ui.cardFault = step === "card"; }
      try { await handleFailure(failure); } catch (again) { showError(() => errorText(again)); }
    }
    render();
  });
  ui.loop.running = tracked;
  render();
  return tracked;
}

const waitForCard = () => waitFor("card", CARD_WAIT_ATTEMPTS, (s) => s.state === "waiting_for_card");
const waitForFinger = () => waitFor("finger", FINGER_WAIT_ATTEMPTS,
  (s) => (s.state === "capture_finger" || s.state === "identify_finger") && s.message_key === "finger.not_placed");

async function newSession() {
  await stopWaiting();
  Object.assign(ui, {voterChecked: false, verifiedSeen: false, noCardRequested: false, waitStopped: false});
  setSession(null);
  render();
  setSession(await Api.post("/api/sessions"));
  waitForCard();
}

async function signIn(username, password) {
  const reply = await Api.post("/api/auth/sign-in", {username, password}, {token: null});
  Api.token = reply.token;
  sessionStorage.setItem("booth.token", reply.token);
  ui.principal = reply.official;
  startDevicePolling();
  if (ui.principal.role === "auditor") await showEndOfDay();
  else await newSession();
}

function forgetSignIn() {
  ui.loop.generation += 1;
  Api.token = null;
  ui.principal = null;
  setSession(null);
  ui.mode = "booth";
  sessionStorage.removeItem("booth.token");
  clearInterval(ui.devicesTimer);
  ui.devicesTimer = null;
}

async function signOut() {
  await stopWaiting();
  if (ui.session && !ui.session.terminal) {
    try { await Api.post(sessionPath("cancel")); } catch (failure) { /* the session expires on its own */ }
  }
  try { await Api.post("/api/auth/sign-out"); } finally { forgetSignIn(); }
}

// An auditor's credentials are checked by signing them in; the token serves the export and is
// signed out again at once.
async function checkSecondOfficial(username, password, role, codeIfWrongRole) {
  const reply = await Api.post("/api/auth/sign-in", {username, password}, {token: null});
  if (reply.official.role !== role) {
    await releaseToken(reply.token);
    throw new ApiFailure(403, codeIfWrongRole, `this needs the ${role} role`);
  }
  return reply.token;
}

async function releaseToken(token) {
  try { await Api.post("/api/auth/sign-out", undefined, {token}); } catch (failure) { /* expires anyway */ }
}

// Both fallbacks send the supervisor's own credentials and a reason code; the kiosk checks the
// role, rate-limits and audits the approval.
function approval(username, password, reason) {
  return {supervisor_username: username, supervisor_password: password, reason_code: reason};
}

async function approveNoCard(username, password, reason) {
  setSession(await Api.post(sessionPath("no-card"), approval(username, password, reason)));
  ui.noCardRequested = false;
  ui.voterChecked = true;
  waitForFinger();
}

async function approveFaceOnly(username, password, reason) {
  setSession(await Api.post(sessionPath("face-only"), approval(username, password, reason)));
}

async function approveInkOnRecord(username, password, reason) {
  ui.voterChecked = false;   // the voter panel comes next, then the fingers
  setSession(await Api.post(sessionPath("ink-on-record"), approval(username, password, reason)));
}

async function approveLiveness(username, password, reason) {
  setSession(await Api.post(sessionPath("liveness-override"), approval(username, password, reason)));
}

// The liveness check answers when it has a verdict (a few seconds); meanwhile the screen asks for the
// session again and again to show the voter the instruction the check gives now.
async function checkLiveness() {
  let running = true;
  const watch = (async () => {
    while (running) {
      await sleep(LIVENESS_POLL_MS);
      try {
        const seen = await Api.get(sessionPath());
        if (running && seen.liveness && seen.liveness.instruction !== ui.livenessCue) {
          ui.livenessCue = seen.liveness.instruction;
          render();
        }
      } catch (failure) { /* the check's own answer reports what went wrong */ }
    }
  })();
  try {
    setSession(await Api.post(sessionPath("liveness")));
  } finally {
    running = false;
    await watch;
    ui.livenessCue = null;
  }
}

async function showEndOfDay() {
  await stopWaiting();
  ui.mode = "eod";
  ui.exported = null;
  render();
  await loadSummaries();
}

async function backToBooth() {
  ui.mode = "booth";
  if (!ui.session || ui.session.terminal) {
    await newSession();
  } else {
    setSession(await Api.get(sessionPath()));
    if (ui.session.state === "waiting_for_card" && !ui.noCardRequested) waitForCard();
  }
}

async function exportBundle(username, password) {
  const ownRole = ui.principal.role === "auditor";
  const token = ownRole ? Api.token : await checkSecondOfficial(username, password, "auditor", "auditor_required");
  try {
    const bundle = await Api.post("/api/audit/export", undefined, {token});
    await Api.download(bundle.download, bundle.bundle, token);
    ui.exported = bundle;
  } finally {
    if (!ownRole) await releaseToken(token);
  }
}

// -- devices --------------------------------------------------------------------------------------

function startDevicePolling() {
  clearInterval(ui.devicesTimer);
  pollDevices();
  ui.devicesTimer = setInterval(pollDevices, DEVICE_POLL_MS);
}

async function pollDevices() {
  if (!Api.token) return;
  try {
    renderDevices(await Api.get("/api/devices"));
    setOffline(false);
  } catch (failure) {
    if (failure.code === "network") setOffline(true);
    else if (SIGNED_OUT_CODES.has(failure.code)) { showError(() => errorText(failure)); forgetSignIn(); render(); }
  }
}

function renderDevices(reply) {
  renderCommissionSync(reply.commission_sync || {configured: false});
  $("degraded").hidden = !(reply.failed && reply.failed.length);   // failed self-test or device fault
  $("station-id").textContent = reply.station_id;
  $("kiosk-id").textContent = reply.kiosk_id;
  for (const item of document.querySelectorAll("#devices .device")) {
    const device = reply.devices[item.dataset.device] || {};
    const status = DEVICE_ICONS[device.status] ? device.status : "unknown";
    item.dataset.status = status;
    item.title = device.error || "";
    item.querySelector("use").setAttribute("href", `#${DEVICE_ICONS[status] || "icon-info"}`);
    const text = item.querySelector(".device-status");
    text.dataset.i18n = `device_status.${status}`;
    text.textContent = t(`device_status.${status}`);
  }
}

// When the audit log last reached the commission (kiosk.sync); hidden when no commission link is set up.
function renderCommissionSync(sync) {
  $("commission-sync").hidden = !sync.configured;
  if (!sync.configured) return;
  const last = sync.last_success_at ? new Date(sync.last_success_at) : null;
  const text = last ? last.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) : t("bar.never_pushed");
  $("last-push").textContent = text;
  $("commission-sync").dataset.state = sync.last_error ? "failing" : "ok";
  $("commission-sync").title = sync.last_error || "";
}

// -- the station's registry server ----------------------------------------------------------------

// /health (no sign-in needed) is polled all the time: while the registry server is lost the banner
// tells the official what to do, the card wait stops and every step that needs the registry is
// refused on the screen (not only when it fails); when the server is back everything clears by itself.
const HEALTH_POLL_MS = 2000;
const REGISTRY_STEPS = ".step-action, #card-wait, #card-no-card";

function startHealthPolling() {
  pollHealth();
  setInterval(pollHealth, HEALTH_POLL_MS);
}

async function pollHealth() {
  if (ui.healthPolling) return;      // a slow answer (the kiosk's ping waits up to 1 s) is not stacked
  ui.healthPolling = true;
  let lost = null;                   // null: the kiosk itself did not answer (the offline banner's case)
  try {
    const response = await fetch("/health", {cache: "no-store", headers: {Accept: "application/json"}});
    lost = (await response.json()).registry === "unavailable";
  } catch (error) {
    lost = null;
  } finally {
    ui.healthPolling = false;
  }
  if (lost !== null && lost !== ui.registryLost) await setRegistryLost(lost);
}

async function setRegistryLost(lost) {
  ui.registryLost = lost;
  $("registry-lost").hidden = !lost;
  document.body.dataset.registry = lost ? "lost" : "ok";
  const waitingForCard = ui.mode === "booth" && ui.session && ui.session.state === "waiting_for_card"
    && !ui.noCardRequested;
  if (lost) {
    ui.resumeCardWait = Boolean(waitingForCard);
    await stopWaiting();             // each card read would look the voter up in the lost registry
  } else {
    if (ui.errorCode === "registry_unavailable") hideError();
    if (ui.resumeCardWait && waitingForCard && ui.loop.running === null) waitForCard();
    ui.resumeCardWait = false;
  }
  render();
}

function blockRegistrySteps() {
  if (!ui.registryLost) return;
  for (const button of document.querySelectorAll(REGISTRY_STEPS)) button.disabled = true;
}

// -- wiring ---------------------------------------------------------------------------------------

function formValues(form) {
  const values = Object.fromEntries(new FormData(form).entries());
  for (const input of form.querySelectorAll("input[type=password]")) input.value = "";
  return values;
}

function bind() {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const {username, password} = formValues(event.target);
    act(() => signIn(username.trim(), password));
  });
  $("card-wait").addEventListener("click", () => { hideError(); waitForCard(); });
  $("card-no-card").addEventListener("click", () => act(async () => {
    await stopWaiting();
    if (ui.session.state === "waiting_for_card") ui.noCardRequested = true;
  }));
  $("supervisor-back").addEventListener("click", () => {
    ui.noCardRequested = false;
    hideError();
    waitForCard();
  });
  $("supervisor-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const {username, password, reason} = formValues(event.target);
    const approve = {face_only: approveFaceOnly, no_card: approveNoCard,
      ink_on_record: approveInkOnRecord, liveness: approveLiveness}[supervisorMode(ui.session)];
    act(() => approve(username.trim(), password, reason));
  });
  $("voter-continue").addEventListener("click", () => {
    ui.voterChecked = true;
    hideError();
    waitForFinger();
  });
  $("finger-capture").addEventListener("click", () => { hideError(); waitForFinger(); });
  $("face-capture").addEventListener("click", () => {
    const liveness = ui.session && ui.session.state === "check_liveness";
    act(async () => {
      if (liveness) {
        await checkLiveness();   // passed: the photo is taken at once, from the live check's frame
        if (ui.session.state !== "capture_face" && ui.session.state !== "identify_face") return;
        ui.pending = "face.capturing";
        render();
      }
      setSession(await Api.post(sessionPath("face")));
    }, liveness ? "liveness.checking" : "face.capturing");
  });
  $("result-continue").addEventListener("click", () => { ui.verifiedSeen = true; hideError(); render(); });
  $("result-next").addEventListener("click", () => act(newSession));
  $("ink-check").addEventListener("click", () => act(async () => {
    setSession(await Api.post(sessionPath("ink")));
  }, "ink.checking"));
  for (const [id, seen] of [["ink-eye-ink", "ink"], ["ink-eye-none", "no_ink"]]) {
    $(id).addEventListener("click", () => act(async () => {
      setSession(await Api.post(sessionPath("ink"), {checked_by_eye: seen}));
    }));
  }
  $("confirm-vote").addEventListener("click", () => act(async () => {
    setSession(await Api.post(sessionPath("confirm")));
  }));
  $("session-cancel").addEventListener("click", () => act(async () => {
    await stopWaiting();
    if (!ui.session.terminal) setSession(await Api.post(sessionPath("cancel")));
    ui.noCardRequested = false;
  }));
  $("nav-eod").addEventListener("click", () => act(showEndOfDay));
  $("nav-booth").addEventListener("click", () => act(backToBooth));
  $("nav-sign-out").addEventListener("click", () => act(signOut));
  $("eod-refresh").addEventListener("click", () => act(loadSummaries));
  $("export-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const {username = "", password = ""} = formValues(event.target);
    act(() => exportBundle(username.trim(), password));
  });
  for (const button of document.querySelectorAll("#languages .lang")) {
    button.addEventListener("click", () => chooseLanguage(button.dataset.lang));
  }
}

async function chooseLanguage(language) {
  try {
    await I18n.use(language);
    localStorage.setItem("booth.language", language);
    if (!$("error").hidden && ui.errorText) $("error-text").textContent = ui.errorText();
  } catch (error) {
    showError(() => t("error.generic", {code: "language"}));
  }
  for (const button of document.querySelectorAll("#languages .lang")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === I18n.language));
  }
  render();
}

// After a reload the sign-in (kept in this tab's sessionStorage) and the voter session continue.
async function resume() {
  Api.token = sessionStorage.getItem("booth.token");
  if (!Api.token) return;
  try {
    ui.principal = (await Api.get("/api/auth/me")).official;
  } catch (failure) {
    forgetSignIn();
    return;
  }
  startDevicePolling();
  if (ui.principal.role === "auditor") { await showEndOfDay(); return; }
  const sessionId = sessionStorage.getItem("booth.session");
  if (sessionId) {
    try {
      setSession(await Api.get(`/api/sessions/${encodeURIComponent(sessionId)}`));
      if (ui.session.state === "waiting_for_card") waitForCard();
      return;
    } catch (failure) {
      setSession(null);
    }
  }
  await newSession();
}

document.addEventListener("DOMContentLoaded", async () => {
  I18n.urlTemplate = CONFIG.messages_url;
  const saved = localStorage.getItem("booth.language");
  bind();
  startHealthPolling();
  await chooseLanguage(CONFIG.languages.includes(saved) ? saved : CONFIG.default_language);
  try {
    await resume();
  } catch (failure) {
    await handleFailure(failure);
  }
  render();
  document.body.dataset.ready = "true";   // the page is wired (tests wait for this)
});
