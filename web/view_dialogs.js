/**
 * @module The chat's dialogs: "New chat", "New group" and a group's members (add people, leave),
 * plus what every dialog does (a Close button, a click on the backdrop closes it).
 */
import { me, summaryOf } from "./store.js";
import { $, avatar, h } from "./view.js";

/**
 * Mounts the dialogs; returns `openMembers()` and `startChat(userId)`.
 * @param {{store: any, sync: any, chat: any, navigate(roomId: string): void, leaveRoom(): void,
 *   openProfile(userId: string): void}} ctx
 */
export function mountDialogs(ctx) {
  const { store, sync, chat } = ctx;
  const members = $("members-dialog");

  for (const button of document.querySelectorAll("dialog [data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  for (const dialog of document.querySelectorAll("dialog")) {
    // A click on the backdrop closes the dialog.
    dialog.addEventListener("click", (event) => event.target === dialog && dialog.close());
  }

  $("new-chat-button").addEventListener("click", () => openForm("new-chat"));
  $("new-group-button").addEventListener("click", () => openForm("new-group"));
  $("new-chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runForm("new-chat", async () => {
      const userId = $("new-chat-user").value.trim();
      if (userId === me(store.getState()).id) throw new Error("That is you: pick someone else");
      await startChat(userId);
    });
  });
  $("new-chat-form").querySelector("[data-action=profile]").addEventListener("click", () => {
    const userId = $("new-chat-user").value.trim();
    if (!userId) return;
    $("new-chat-dialog").close();
    ctx.openProfile(userId);
  });
  $("new-group-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runForm("new-group", async () => {
      const memberIds = [...new Set($("new-group-members").value.split(/[\s,]+/).filter(Boolean))]
        .filter((id) => id !== me(store.getState()).id);
      if (memberIds.length === 0) throw new Error("Add at least one member");
      const { roomId } = await chat.createGroup({ name: $("new-group-name").value.trim(), memberIds });
      await sync.loadRooms();
      ctx.navigate(roomId);
    });
  });

  $("members-add-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = $("members-add-input").value.split(/[\s,]+/).filter(Boolean);
    const roomId = store.getState().open?.roomId;
    if (ids.length === 0 || !roomId) return;
    try {
      await chat.addMembers(roomId, ids);
      $("members-add-input").value = "";
      await sync.loadRooms();
      renderMembers();
    } catch (err) {
      members.querySelector(".form-error").textContent = err.message;
    }
  });
  $("members-leave").addEventListener("click", async () => {
    const roomId = store.getState().open?.roomId;
    if (!roomId || !confirm("Leave this group?")) return;
    try {
      await chat.removeMember(roomId, me(store.getState()).id);
      members.close();
      ctx.leaveRoom();
      sync.loadRooms();
    } catch (err) {
      members.querySelector(".form-error").textContent = err.message;
    }
  });
  // The list follows the room while the dialog is open (members added or leaving, presence).
  store.subscribe((state, previous) => {
    if (!members.open) return;
    const roomId = state.open?.roomId;
    if (summaryOf(state, roomId) !== summaryOf(previous, roomId)) renderMembers();
  });

  function openMembers() {
    if (!renderMembers()) return;
    members.querySelector(".form-error").textContent = "";
    members.showModal();
  }

  function renderMembers() {
    const state = store.getState();
    const summary = summaryOf(state, state.open?.roomId);
    if (!summary) return false;
    $("members-title").textContent = `${summary.name} · ${summary.participants.length} members`;
    $("members-list").replaceChildren(
      ...summary.participants.map((p) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              className: "member",
              onclick: () => {
                members.close();
                ctx.openProfile(p.id);
              },
            },
            avatar(p, "sm", p.online),
            h("span", { className: "member-name" }, p.id === me(state).id ? `${p.name} (you)` : p.name),
            p.role !== "member" ? h("span", { className: "role" }, p.role) : null,
          ),
        )
      ),
    );
    return true;
  }

  /** Opens the direct room with a user (created on first use). @throws {ChatApiError} */
  async function startChat(userId) {
    const { roomId } = await chat.startDirect(userId);
    await sync.loadRooms();
    ctx.navigate(roomId);
  }

  return { openMembers, startChat };
}

function openForm(name) {
  const form = $(`${name}-form`);
  form.reset();
  form.querySelector(".form-error").textContent = "";
  $(`${name}-dialog`).showModal();
}

/** Runs a dialog form's action: validation first, the button disabled meanwhile, errors in the form. */
async function runForm(name, action) {
  const form = $(`${name}-form`);
  const error = form.querySelector(".form-error");
  const submit = form.querySelector("button[type=submit]");
  error.textContent = "";
  if (!form.checkValidity()) {
    form.reportValidity();
    return;
  }
  submit.disabled = true;
  try {
    await action();
    $(`${name}-dialog`).close();
  } catch (err) {
    error.textContent = err.status === 404 && name === "new-chat"
      ? "No user with that id has signed in yet"
      : err.message;
  } finally {
    submit.disabled = false;
  }
}
