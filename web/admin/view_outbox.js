/** @module The outbox per sink (refreshed live) and the dead letters with replay and purge. */
import { admin } from "./api.js";
import { age, confirmAction, fill, h } from "./dom.js";

const SINKS = { realtime: "Realtime (Pusher)", push: "Push (OneSignal)", social: "Social (feeds)" };

/** Draws one card per sink: pending, retrying, dead, and the age of the oldest batch. */
export function renderOutbox(el, outbox) {
  fill(
    el,
    Object.entries(outbox).map(([sink, b]) =>
      h(
        "section",
        {
          class: `sink${b.dead > 0 ? " has-dead" : ""}${(b.oldestAgeMs ?? 0) > 60_000 ? " is-late" : ""}`,
          "data-sink": sink,
        },
        h("h3", {}, SINKS[sink] ?? sink),
        h(
          "dl",
          {},
          h("div", {}, h("dt", {}, "pending"), h("dd", { "data-state": "pending" }, b.pending)),
          h("div", {}, h("dt", {}, "retrying"), h("dd", { "data-state": "retrying" }, b.retrying)),
          h("div", {}, h("dt", {}, "dead"), h("dd", { "data-state": "dead" }, b.dead)),
          h("div", {}, h("dt", {}, "oldest"), h("dd", { "data-state": "oldest" }, age(b.oldestAgeMs))),
        ),
      )
    ),
  );
}

/** The dead letters table with replay one / replay all / purge, each confirmed first. */
export function renderDead(el, deadLetters, { refresh, report }) {
  const act = async (question, label, call) => {
    if (!(await confirmAction(question, label))) return;
    try {
      report(await call());
    } catch (err) {
      report(null, err);
    }
    await refresh();
  };
  const replayOne = (d) =>
    act(
      `Replay ${d.id}? Its ${d.events} event(s) go back to pending and are delivered in order.`,
      "Replay",
      async () => {
        const { replayed } = await admin("/outbox/dead/replay", { method: "POST", body: { id: d.id } });
        return `Replayed ${replayed} batch`;
      },
    );
  const replayAll = () =>
    act(`Replay all ${deadLetters.length} dead batch(es)?`, "Replay all", async () => {
      const { replayed } = await admin("/outbox/dead/replay", { method: "POST", body: { all: true } });
      return `Replayed ${replayed} batch(es)`;
    });
  const purge = () =>
    act(
      `Purge all ${deadLetters.length} dead batch(es)? Their events will never be delivered.`,
      "Purge",
      async () => {
        const { purged } = await admin("/outbox/dead", { method: "DELETE" });
        return `Purged ${purged} batch(es)`;
      },
    );
  if (deadLetters.length === 0) {
    fill(el, h("p", { class: "empty" }, "No dead letters."));
    return;
  }
  fill(
    el,
    h(
      "div",
      { class: "toolbar" },
      h("button", { type: "button", onclick: replayAll, "data-action": "replay-all" }, "Replay all"),
      h("button", { type: "button", class: "danger", onclick: purge, "data-action": "purge" }, "Purge all"),
    ),
    h(
      "table",
      { class: "dead" },
      h(
        "thead",
        {},
        h("tr", {}, ["Sink", "Room / user", "Age", "Attempts", "Last error", ""].map((t) => h("th", {}, t))),
      ),
      h(
        "tbody",
        {},
        deadLetters.map((d) =>
          h(
            "tr",
            { "data-id": d.id },
            h("td", {}, d.sink),
            h("td", {}, d.roomId ?? (d.userId ? `user ${d.userId}` : "–")),
            h("td", { class: "num" }, age(d.ageMs)),
            h("td", { class: "num" }, d.attempts),
            h("td", { class: "error" }, d.lastError ?? ""),
            h(
              "td",
              {},
              h("button", { type: "button", onclick: () => replayOne(d), "data-action": "replay" }, "Replay"),
            ),
          )
        ),
      ),
    ),
  );
}
