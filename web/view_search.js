/**
 * @module Message search in the sidebar: typing searches (debounced), the results replace the room
 * list while there is a query, and a result opens its room scrolled to the message.
 */
import { previewText } from "../common/preview.js";
import { summaryOf } from "./store.js";
import { $, avatar, h, shortTime } from "./view.js";

const DEBOUNCE_MS = 250;
const RESULTS = 30;

/**
 * Mounts the search box and its results.
 * @param {{store: any, sync: any, chat: any, navigate(roomId: string): void}} ctx
 */
export function mountSearch(ctx) {
  const { store, sync, chat } = ctx;
  const input = $("search-input");
  let timer = 0;
  let shown = null;

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    run();
  });

  store.subscribe(render);
  render(store.getState());

  async function run() {
    store.dispatch({ type: "search/started", query: input.value.trim() });
    const { query, run } = store.getState().search;
    if (!query) return;
    try {
      const res = await chat.search({ q: query, limit: RESULTS });
      store.dispatch({ type: "search/results", run, messages: res.messages });
    } catch (err) {
      store.dispatch({ type: "search/failed", run, error: err.message });
    }
  }

  function render(state) {
    const search = state.search;
    if (!state.session && input.value) input.value = ""; // signed out
    if (search === shown) return;
    shown = search;
    const searching = search.query.length > 0;
    $("search-view").hidden = !searching;
    $("rooms-view").hidden = searching;
    if (!searching || search.results === null) return;
    $("search-list").replaceChildren(...search.results.map((m) => resultItem(state, m)));
    const empty = $("search-empty");
    empty.textContent = search.error ?? "No messages match.";
    empty.hidden = search.error === null && search.results.length > 0;
  }

  function resultItem(state, m) {
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          className: "room",
          onclick: () => {
            store.dispatch({ type: "focus/requested", roomId: m.roomId, seq: m.seq });
            if (store.getState().open?.roomId === m.roomId) sync.reveal();
            else ctx.navigate(m.roomId);
          },
        },
        avatar(m.sender ?? { id: m.senderId, name: m.senderId }, "md"),
        h(
          "span",
          { className: "room-text" },
          h(
            "span",
            { className: "room-line" },
            h("span", { className: "room-name" }, m.sender?.name ?? m.senderId),
            h("time", { className: "room-time", dateTime: m.createdAt }, shortTime(m.createdAt)),
          ),
          h("span", { className: "room-preview" }, previewText(m)),
          h("span", { className: "result-meta" }, `in ${summaryOf(state, m.roomId)?.name ?? "a chat"}`),
        ),
      ),
    );
  }
}
