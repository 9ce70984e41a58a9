/** @module The live tail of published realtime events (Pusher's debug console for this server), filterable by room. */
import { admin } from "./api.js";
import { age, fill, h } from "./dom.js";

const KEEP = 200;

/** Polls `/api/admin/events` and shows the newest events first. */
export class EventTailView {
  #el;
  #events = [];
  #after = 0;
  #roomId = "";

  constructor(el) {
    this.#el = el;
  }

  /** Shows only one room's events from now on ("" for all), reloading what the server still keeps. */
  filter(roomId) {
    this.#roomId = roomId.trim();
    this.#events = [];
    this.#after = 0;
    return this.poll();
  }

  /** Fetches events newer than the last seen, and redraws. */
  async poll() {
    const query = new URLSearchParams({ after: String(this.#after) });
    if (this.#roomId) query.set("roomId", this.#roomId);
    const { events, lastId } = await admin(`/events?${query}`);
    this.#after = lastId;
    this.#events = [...this.#events, ...events].slice(-KEEP);
    this.render();
  }

  render() {
    const now = Date.now();
    if (this.#events.length === 0) {
      fill(this.#el, h("p", { class: "empty" }, "Nothing published yet."));
      return;
    }
    fill(
      this.#el,
      h(
        "table",
        { class: "tail" },
        h("thead", {}, h("tr", {}, ["Age", "Channel", "Event", "Room", "Seq"].map((t) => h("th", {}, t)))),
        h(
          "tbody",
          {},
          [...this.#events].reverse().map((e) =>
            h(
              "tr",
              {},
              h("td", { class: "num" }, age(now - e.at)),
              h("td", { class: "mono" }, e.channel),
              h("td", {}, e.event),
              h("td", { class: "mono" }, e.roomId ?? "–"),
              h("td", { class: "num" }, e.seq ?? "–"),
            )
          ),
        ),
      ),
    );
  }
}
