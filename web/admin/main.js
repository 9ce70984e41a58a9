/**
 * @module The operator console: sign in with the admin key, then the outbox
 * per sink and the event tail refresh every second or two, charts every 30 s.
 */
import { admin, adminKey, AuthError, forgetKey, rememberKey } from "./api.js";
import { renderCharts } from "./view_charts.js";
import { renderDead, renderOutbox } from "./view_outbox.js";
import { EventTailView } from "./view_tail.js";
import { browse } from "./view_browse.js";

const $ = (id) => document.getElementById(id);
const timers = [];

function showLogin(message = "") {
  for (const t of timers.splice(0)) clearInterval(t);
  document.body.classList.remove("signed-in");
  $("login-error").textContent = message;
  $("key").value = "";
  $("key").focus();
}

function report(text, err) {
  $("status").textContent = err ? `Failed: ${err.message}` : text;
  $("status").classList.toggle("error", Boolean(err));
}

/** Runs `fn` now and every `ms`; an AuthError signs out. */
function every(ms, fn) {
  const run = () =>
    fn().then(() => $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`).catch((err) => {
      if (err instanceof AuthError) {
        forgetKey();
        showLogin(err.message);
      } else report(null, err);
    });
  run();
  timers.push(setInterval(run, ms));
}

function start() {
  document.body.classList.add("signed-in");
  const tail = new EventTailView($("tail"));
  const refreshDead = async () => {
    const { deadLetters } = await admin("/outbox/dead?limit=200");
    renderDead($("dead"), deadLetters, { refresh: refreshAll, report });
  };
  const refreshOutbox = async () => renderOutbox($("outbox"), (await admin("/outbox")).outbox);
  const refreshCharts = async () => renderCharts($("charts"), await admin(`/stats?days=${$("days").value}`));
  const refreshAll = () => Promise.all([refreshOutbox(), refreshDead(), refreshCharts()]).then(() => {});
  every(2000, () => Promise.all([refreshOutbox(), refreshDead()]).then(() => {}));
  every(30_000, refreshCharts);
  every(1000, () => tail.poll());
  $("days").onchange = () => refreshCharts().catch((err) => report(null, err));
  $("tail-filter").onsubmit = (event) => {
    event.preventDefault();
    tail.filter($("tail-room").value).catch((err) => report(null, err));
  };
  $("browse-form").onsubmit = (event) => {
    event.preventDefault();
    const id = $("browse-id").value.trim();
    if (id) browse($("browse"), $("browse-kind").value, id);
  };
}

$("login").onsubmit = async (event) => {
  event.preventDefault();
  const key = $("key").value;
  try {
    await admin("/outbox", { key });
  } catch (err) {
    showLogin(err instanceof AuthError ? "That key was not accepted" : err.message);
    return;
  }
  rememberKey(key);
  start();
};
$("sign-out").onclick = () => {
  forgetKey();
  showLogin();
};

if (adminKey()) start();
else showLogin();
