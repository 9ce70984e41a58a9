/** @module The read-only browser: a user, a room (members, roles, read positions, unread), a message and its versions. */
import { admin } from "./api.js";
import { fill, h } from "./dom.js";

const when = (iso) => (iso ? iso.replace("T", " ").slice(0, 19) : "–");

function table(headers, rows) {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      rows.map((cells) =>
        h("tr", {}, cells.map((c) => h("td", typeof c === "number" ? { class: "num" } : {}, c)))
      ),
    ),
  );
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))));
}

/** Shows what `kind` ("user", "room", "message") names `id`, with links to what it refers to. */
export async function browse(el, kind, id) {
  const go = (k, v) => (event) => {
    event.preventDefault();
    browse(el, k, v);
  };
  const link = (k, v, text = v) => h("a", { href: "#", onclick: go(k, v), "data-browse": `${k}:${v}` }, text);
  try {
    if (kind === "user") {
      const { user } = await admin(`/users/${encodeURIComponent(id)}`);
      fill(
        el,
        h("h3", {}, `User ${user.name} (${user.id})`),
        facts([["created", when(user.createdAt)], ["online", user.online ? "yes" : "no"], [
          "last seen",
          when(user.lastSeenAt),
        ], [
          "unread total",
          user.unreadTotal,
        ]]),
        table(
          ["Room", "Type", "Name", "Role", "Unread", "Last activity"],
          user.rooms.map((
            r,
          ) => [
            link("room", r.id),
            r.type,
            r.name || "–",
            r.role ?? "–",
            r.unreadCount,
            when(r.lastActivityAt),
          ]),
        ),
      );
    } else if (kind === "room") {
      const [{ room }, { messages }] = await Promise.all([
        admin(`/rooms/${encodeURIComponent(id)}`),
        admin(`/rooms/${encodeURIComponent(id)}/messages?limit=20`),
      ]);
      fill(
        el,
        h("h3", {}, `${room.type === "GROUP" ? "Group" : "Direct room"} ${room.name || room.id}`),
        facts([["id", room.id], ["created", `${when(room.createdAt)} by ${room.createdBy}`], [
          "last seq",
          room.lastSeq,
        ], [
          "last activity",
          when(room.lastActivityAt),
        ]]),
        h("h4", {}, "Members"),
        table(
          ["User", "Role", "Read up to", "Read at", "Unread", "State"],
          room.members.map((m) => [
            link("user", m.userId),
            m.role,
            m.readSeq,
            when(m.readAt),
            m.unreadCount,
            m.active ? (m.archived ? "archived" : "active") : `left at seq ${m.leftSeq}`,
          ]),
        ),
        h("h4", {}, "Latest messages"),
        table(
          ["Seq", "Sender", "Content", "Sent", "Edits", "Deleted"],
          messages.map((m) => [
            link("message", m.id, String(m.seq)),
            m.senderName,
            m.content,
            when(m.createdAt),
            m.editCount,
            m.deletedAt ? when(m.deletedAt) : "",
          ]),
        ),
      );
    } else {
      const { message, versions } = await admin(`/messages/${encodeURIComponent(id)}`);
      fill(
        el,
        h("h3", {}, `Message ${message.id}`),
        facts([
          ["room", link("room", message.roomId)],
          ["sender", link("user", message.senderId, `${message.senderName} (${message.senderId})`)],
          ["type", message.type],
          ["sent", when(message.createdAt)],
          ["edited", when(message.editedAt)],
          ["deleted", when(message.deletedAt)],
          [
            "attachment",
            message.attachment ? `${message.attachment.name ?? ""} ${message.attachment.type ?? ""}` : "–",
          ],
        ]),
        h("h4", {}, "Content"),
        h("p", { class: "content" }, message.content),
        h("h4", {}, `Earlier versions (${versions.length})`),
        versions.length === 0 ? h("p", { class: "empty" }, "Never edited.") : table(
          ["Version", "Content", "Written", "Replaced"],
          versions.map((v) => [v.version, v.content, when(v.writtenAt), when(v.replacedAt)]),
        ),
      );
    }
  } catch (err) {
    fill(el, h("p", { class: "error" }, err.message));
  }
}
