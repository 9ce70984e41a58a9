/**
 * @module The interactive API reference at /docs: renders /openapi.json grouped by tag,
 * with schemas, curl examples and "try it" (bearer token from demo login or pasted).
 * No CDN: everything it loads comes from this server.
 */
import { markdown } from "./docs_markdown.js";
import { anchor, operationViews } from "./docs_operations.js";
import { h } from "./view.js";

const TOKEN_KEY = "durable-chat.docs.token";
/** The admin key lives in sessionStorage: it guards every admin route, so it ends with the tab. */
const ADMIN_KEY = "durable-chat.docs.adminKey";
const METHODS = ["get", "post", "put", "patch", "delete"];

main();

async function main() {
  const main = document.getElementById("docs-main");
  let doc;
  try {
    const res = await fetch("/openapi.json");
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    doc = await res.json();
  } catch (err) {
    main.replaceChildren(h("p", { className: "form-error" }, `Could not load /openapi.json: ${err.message}`));
    return;
  }
  document.getElementById("docs-version").textContent = `v${doc.info.version} · OpenAPI ${doc.openapi}`;
  const operations = collectOperations(doc);
  const groups = groupByTag(doc, operations);
  const { tagSection, schemasSection } = operationViews(doc);
  main.replaceChildren(
    h("h1", {}, doc.info.title),
    markdown(doc.info.description ?? ""),
    authPanel(operations),
    ...[...groups].map(([tag, ops]) => tagSection(tag, ops)),
    schemasSection(),
  );
  renderNav(groups);
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
  const openTarget = location.hash && document.getElementById(location.hash.slice(1));
  if (openTarget?.tagName === "DETAILS") openTarget.open = true;
}

function collectOperations(doc) {
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      if (item[method]) ops.push({ path, method, op: item[method], params: item.parameters ?? [] });
    }
  }
  return ops;
}

function groupByTag(doc, ops) {
  const order = (doc.tags ?? []).map((t) => t.name);
  const groups = new Map(order.map((name) => [name, []]));
  for (const entry of ops) {
    const tag = entry.op.tags?.[0] ?? "Other";
    if (!groups.has(tag)) groups.set(tag, []);
    groups.get(tag).push(entry);
  }
  for (const [tag, list] of groups) if (list.length === 0) groups.delete(tag);
  return groups;
}

function renderNav(groups) {
  const list = document.getElementById("docs-nav-list");
  const sections = [...groups].map(([tag, ops]) =>
    h(
      "div",
      { "data-tag": tag },
      h("h2", {}, tag),
      h(
        "ul",
        {},
        ops.map((entry) =>
          h(
            "li",
            { "data-filter": `${entry.method} ${entry.path} ${entry.op.summary ?? ""}`.toLowerCase() },
            h(
              "a",
              {
                href: `#${anchor(entry)}`,
                onclick: () => {
                  const details = document.getElementById(anchor(entry));
                  if (details) details.open = true;
                },
              },
              h("span", { className: `method method-${entry.method}` }, entry.method),
              h("span", { className: "path" }, entry.path),
            ),
          )
        ),
      ),
    )
  );
  list.replaceChildren(...sections);
  const filter = document.getElementById("docs-filter");
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    for (const li of list.querySelectorAll("li")) li.hidden = q !== "" && !li.dataset.filter.includes(q);
    for (const section of list.children) section.hidden = !section.querySelector("li:not([hidden])");
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && !/INPUT|TEXTAREA/.test(document.activeElement?.tagName ?? "")) {
      event.preventDefault();
      filter.focus();
    }
  });
}

// ---- Authentication ------------------------------------------------------------------------------

function currentToken() {
  const stored = localStorage.getItem(TOKEN_KEY);
  if (stored) return stored;
  try {
    return JSON.parse(localStorage.getItem("durable-chat.session") ?? "null")?.token ?? "";
  } catch {
    return "";
  }
}

function authPanel(operations) {
  const hasDevLogin = operations.some((e) => e.path === "/api/dev/login");
  const hasAdmin = operations.some((e) => (e.op.security ?? []).some((s) => "adminKey" in s));
  const token = h("textarea", { id: "auth-token", rows: 2, spellcheck: false, value: currentToken() });
  token.addEventListener("change", () => localStorage.setItem(TOKEN_KEY, token.value.trim()));
  const status = h("p", { className: "muted small", role: "status" });
  const userId = h("input", { id: "auth-user", value: "alice", autocapitalize: "none" });
  const name = h("input", { id: "auth-name", value: "Alice" });
  const login = h("button", { type: "submit", className: "btn btn-primary" }, "Get a demo token");
  const loginForm = h(
    "form",
    {
      className: "auth-grid",
      onsubmit: async (event) => {
        event.preventDefault();
        status.textContent = "Signing in…";
        const res = await fetch("/api/dev/login", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ userId: userId.value.trim(), name: name.value.trim() }),
        });
        const body = await res.json().catch(() => ({}));
        if (!res.ok) {
          status.textContent = `Login failed: ${body.error ?? res.status}`;
          return;
        }
        token.value = body.token;
        localStorage.setItem(TOKEN_KEY, body.token);
        status.textContent = `Signed in as ${userId.value.trim()}; "Try it" calls now carry this token.`;
      },
    },
    h("div", { className: "field" }, h("label", { for: "auth-user" }, "User id"), userId),
    h("div", { className: "field" }, h("label", { for: "auth-name" }, "Name"), name),
    h("div", { className: "field" }, login),
  );
  const adminKey = h("input", {
    id: "auth-admin",
    type: "password",
    value: storedAdminKey(),
    autocomplete: "off",
  });
  adminKey.addEventListener("change", () => sessionStorage.setItem(ADMIN_KEY, adminKey.value));
  return h(
    "section",
    { className: "panel", "aria-labelledby": "auth-title" },
    h("h2", { id: "auth-title" }, "Authorize"),
    hasDevLogin ? loginForm : h("p", { className: "muted" }, "Dev login is off on this server: paste a JWT."),
    h(
      "div",
      { className: "field", style: { marginTop: "12px" } },
      h("label", { for: "auth-token" }, "Bearer token"),
      token,
    ),
    hasAdmin
      ? h("div", { className: "field" }, h("label", { for: "auth-admin" }, "X-Admin-Key"), adminKey)
      : null,
    status,
  );
}

/** The admin key of this tab; one an earlier version kept in localStorage is moved out of it. */
function storedAdminKey() {
  const legacy = localStorage.getItem(ADMIN_KEY);
  if (legacy !== null) {
    localStorage.removeItem(ADMIN_KEY);
    if (sessionStorage.getItem(ADMIN_KEY) === null) sessionStorage.setItem(ADMIN_KEY, legacy);
  }
  return sessionStorage.getItem(ADMIN_KEY) ?? "";
}
