/**
 * @module The interactive API reference at /docs: renders /openapi.json grouped by tag,
 * with schemas, curl examples and "try it" (bearer token from demo login or pasted).
 * No CDN: everything it loads comes from this server.
 */
import { h } from "./view.js";

const TOKEN_KEY = "durable-chat.docs.token";
/** The admin key lives in sessionStorage: it guards every admin route, so it ends with the tab. */
const ADMIN_KEY = "durable-chat.docs.adminKey";
const METHODS = ["get", "post", "put", "patch", "delete"];

/** Request bodies that show what a call looks like better than a generated one. */
const EXAMPLES = {
  "POST /api/dev/login": { userId: "alice", name: "Alice" },
  "POST /api/chat/send": { receiverId: "bob", content: "Hello Bob!", clientMessageId: "c-1" },
  "POST /api/chat/start": { receiverId: "bob" },
  "POST /api/chat/read": { roomId: "ROOM_ID" },
  "POST /api/chat/typing": { roomId: "ROOM_ID", isTyping: true },
  "POST /api/chat/groups": { name: "Weekend plans", memberIds: ["bob", "carol"] },
  "PUT /api/admin/users/{id}": { name: "Bob", avatar: null },
};

let doc;

main();

async function main() {
  const main = document.getElementById("docs-main");
  try {
    const res = await fetch("/openapi.json");
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    doc = await res.json();
  } catch (err) {
    main.replaceChildren(h("p", { className: "form-error" }, `Could not load /openapi.json: ${err.message}`));
    return;
  }
  document.getElementById("docs-version").textContent = `v${doc.info.version} · OpenAPI ${doc.openapi}`;
  const operations = collectOperations();
  const groups = groupByTag(operations);
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

function collectOperations() {
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      if (item[method]) ops.push({ path, method, op: item[method], params: item.parameters ?? [] });
    }
  }
  return ops;
}

function groupByTag(ops) {
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

function anchor(entry) {
  return `op-${entry.method}-${entry.path.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")}`;
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

// ---- Operations ----------------------------------------------------------------------------------

function tagSection(tag, ops) {
  const description = (doc.tags ?? []).find((t) => t.name === tag)?.description;
  return h(
    "section",
    { className: "tag-section", id: `tag-${tag}`, "aria-labelledby": `tag-title-${tag}` },
    h("h2", { id: `tag-title-${tag}` }, tag),
    description ? h("p", { className: "muted" }, description) : null,
    ops.map(operation),
  );
}

function operation(entry) {
  const { op, method, path } = entry;
  const secured = (op.security ?? doc.security ?? []).length > 0;
  const details = h(
    "details",
    { className: "op", id: anchor(entry) },
    h(
      "summary",
      {},
      h("span", { className: `method method-${method}` }, method),
      h("span", { className: "path" }, path),
      secured ? h("span", { className: "lock", title: "Needs authorization" }, "🔒") : null,
      h("span", { className: "summary" }, op.summary ?? ""),
    ),
  );
  let built = false;
  details.addEventListener("toggle", () => {
    if (!details.open || built) return;
    built = true;
    details.append(operationBody(entry));
  });
  return details;
}

function operationBody(entry) {
  const { op } = entry;
  const params = [...entry.params, ...(op.parameters ?? [])].map(deref);
  const body = op.requestBody ? deref(op.requestBody) : null;
  const bodySchema = body?.content?.["application/json"]?.schema;
  return h(
    "div",
    { className: "op-body" },
    op.description ? markdown(op.description) : null,
    securityNote(op),
    params.length ? h("h3", {}, "Parameters") : null,
    params.length ? paramsTable(params) : null,
    bodySchema ? h("h3", {}, "Request body", h("span", { className: "hint" }, " · application/json")) : null,
    bodySchema ? schemaView(bodySchema) : null,
    h("h3", {}, "Responses"),
    responsesList(op.responses ?? {}),
    h("h3", {}, "Try it"),
    tryIt(entry, params, bodySchema),
  );
}

function securityNote(op) {
  const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
  if (schemes.length === 0) return h("p", { className: "hint small" }, "No authorization needed.");
  const text = schemes.map((s) =>
    s === "bearer" ? "Authorization: Bearer <JWT>" : s === "adminKey" ? "X-Admin-Key" : s
  );
  return h("p", { className: "hint small" }, "Needs ", h("code", {}, text.join(" or ")), ".");
}

function paramsTable(params) {
  return h(
    "table",
    { className: "params" },
    h(
      "thead",
      {},
      h("tr", {}, h("th", {}, "Name"), h("th", {}, "In"), h("th", {}, "Type"), h("th", {}, "Description")),
    ),
    h(
      "tbody",
      {},
      params.map((p) =>
        h(
          "tr",
          {},
          h(
            "td",
            {},
            h("span", { className: "prop" }, p.name),
            p.required ? h("span", { className: "req" }, "required") : null,
          ),
          h("td", {}, p.in),
          h("td", {}, h("span", { className: "type" }, typeLabel(p.schema ?? {}))),
          h("td", {}, p.description ?? constraints(p.schema ?? {})),
        )
      ),
    ),
  );
}

function responsesList(responses) {
  return h(
    "ul",
    { className: "responses" },
    Object.entries(responses).map(([status, response]) => {
      const r = deref(response);
      const schema = r.content?.["application/json"]?.schema;
      return h(
        "li",
        {},
        h("span", { className: `status status-${status[0]}` }, status),
        " ",
        inlineMarkdown(r.description ?? ""),
        // Error bodies are all `{error}`: name the schema instead of expanding it each time.
        schema?.$ref && Number(status) >= 400
          ? h(
            "span",
            { className: "hint" },
            " → ",
            h("a", { className: "type", href: `#schema-${refName(schema.$ref)}` }, refName(schema.$ref)),
          )
          : schema
          ? schemaView(schema)
          : null,
      );
    }),
  );
}

// ---- Schemas -------------------------------------------------------------------------------------

function deref(node) {
  let current = node;
  for (let i = 0; current?.$ref && i < 10; i++) current = resolveRef(current.$ref);
  return current ?? {};
}

function resolveRef(ref) {
  const parts = ref.replace(/^#\//, "").split("/");
  return parts.reduce((obj, key) => obj?.[key], doc);
}

function refName(ref) {
  return ref.split("/").pop();
}

function typeLabel(schema) {
  if (schema.$ref) return refName(schema.$ref);
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    if (schema[key]) return schema[key].map(typeLabel).join(key === "allOf" ? " & " : " | ");
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type ?? "any"];
  return types.map((t) => t === "array" ? `${typeLabel(schema.items ?? {})}[]` : t).join(" | ");
}

function constraints(schema) {
  const out = [];
  if (schema.description) out.push(schema.description);
  if (schema.minLength !== undefined || schema.maxLength !== undefined) {
    out.push(`length ${schema.minLength ?? 0}..${schema.maxLength ?? "∞"}`);
  }
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    out.push(`${schema.minimum ?? "−∞"}..${schema.maximum ?? "∞"}`);
  }
  if (schema.minItems !== undefined || schema.maxItems !== undefined) {
    out.push(`${schema.minItems ?? 0}..${schema.maxItems ?? "∞"} items`);
  }
  if (schema.pattern) out.push(`pattern ${schema.pattern}`);
  if (schema.format) out.push(schema.format);
  if (schema.default !== undefined) out.push(`default ${JSON.stringify(schema.default)}`);
  return out.join(" · ");
}

/** A collapsible tree of a JSON schema; `$ref`s link to the schema list and expand one level. */
function schemaView(schema, depth = 0) {
  return h("div", { className: depth === 0 ? "schema" : "" }, schemaNode(schema, depth, new Set()));
}

function schemaNode(schema, depth, seen) {
  const resolved = deref(schema);
  const label = h(
    "span",
    {},
    schema.$ref
      ? h("a", { className: "type", href: `#schema-${refName(schema.$ref)}` }, refName(schema.$ref))
      : h("span", { className: "type" }, typeLabel(schema)),
  );
  const note = constraints(resolved);
  const head = h("span", {}, label, note ? h("span", { className: "hint" }, ` — ${note}`) : null);
  if (schema.$ref && (seen.has(schema.$ref) || depth > 3)) return head;
  const nextSeen = schema.$ref ? new Set([...seen, schema.$ref]) : seen;
  const props = resolved.properties ?? {};
  const item = resolved.type === "array" || (Array.isArray(resolved.type) && resolved.type.includes("array"))
    ? resolved.items
    : null;
  if (Object.keys(props).length > 0) {
    const required = new Set(resolved.required ?? []);
    return h(
      "div",
      {},
      head,
      h(
        "ul",
        {},
        Object.entries(props).map(([name, prop]) =>
          h(
            "li",
            {},
            h("span", { className: "prop" }, name),
            required.has(name) ? h("span", { className: "req" }, "required") : null,
            ": ",
            schemaNode(prop, depth + 1, nextSeen),
          )
        ),
      ),
    );
  }
  if (item && (item.$ref || item.properties)) {
    return h(
      "div",
      {},
      head,
      h(
        "ul",
        {},
        h("li", {}, h("span", { className: "hint" }, "items: "), schemaNode(item, depth + 1, nextSeen)),
      ),
    );
  }
  return head;
}

function schemasSection() {
  const schemas = doc.components?.schemas ?? {};
  return h(
    "section",
    { className: "tag-section", "aria-labelledby": "schemas-title" },
    h("h2", { id: "schemas-title" }, "Schemas"),
    Object.entries(schemas).map(([name, schema]) =>
      h(
        "details",
        { className: "op", id: `schema-${name}` },
        h("summary", {}, h("span", { className: "path" }, name)),
        h(
          "div",
          { className: "op-body" },
          schemaView(schema),
          h("pre", {}, JSON.stringify(example(schema), null, 2)),
        ),
      )
    ),
  );
}

/** An example value for a schema: its `example`, `default`, first enum value, or a typed placeholder. */
function example(schema, depth = 0) {
  const s = deref(schema);
  if (depth > 6) return null;
  if (s.example !== undefined) return s.example;
  if (s.examples?.length) return s.examples[0];
  if (s.const !== undefined) return s.const;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  const union = s.anyOf ?? s.oneOf;
  if (union) return example(union.find((u) => deref(u).type !== "null") ?? union[0], depth + 1);
  if (s.allOf) return Object.assign({}, ...s.allOf.map((part) => example(part, depth + 1)));
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "object": {
      const out = {};
      for (const [name, prop] of Object.entries(s.properties ?? {})) out[name] = example(prop, depth + 1);
      return out;
    }
    case "array":
      return [example(s.items ?? {}, depth + 1)];
    case "integer":
    case "number":
      return s.minimum ?? 1;
    case "boolean":
      return true;
    case "string":
      return s.format === "date-time"
        ? new Date().toISOString()
        : s.format === "uri"
        ? "https://example.com"
        : "string";
    default:
      return null;
  }
}

/** A request body example: the curated one, else the required fields of the schema. */
function bodyExample(entry, schema) {
  const key = `${entry.method.toUpperCase()} ${entry.path}`;
  if (EXAMPLES[key]) return EXAMPLES[key];
  const s = deref(schema);
  if (s.type !== "object") return example(s);
  const out = {};
  const required = new Set(s.required ?? []);
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    if (required.has(name) || required.size === 0) out[name] = example(prop);
  }
  return out;
}

// ---- Try it --------------------------------------------------------------------------------------

function tryIt(entry, params, bodySchema) {
  const inputs = new Map();
  const fields = params.filter((p) => p.in === "path" || p.in === "query").map((p) => {
    const id = `${anchor(entry)}-${p.in}-${p.name}`;
    const input = h("input", {
      id,
      placeholder: p.schema?.default !== undefined ? String(p.schema.default) : p.required ? "required" : "",
      autocapitalize: "none",
      spellcheck: false,
    });
    inputs.set(p, input);
    return h(
      "div",
      { className: "field" },
      h("label", { for: id }, `${p.name} `, h("span", { className: "hint" }, `(${p.in})`)),
      input,
    );
  });
  const bodyId = `${anchor(entry)}-body`;
  const body = bodySchema
    ? h("textarea", {
      id: bodyId,
      spellcheck: false,
      value: JSON.stringify(bodyExample(entry, bodySchema), null, 2),
    })
    : null;
  const result = h("div", { "aria-live": "polite" });
  const curl = h("pre", {});
  const buildRequest = () => {
    let path = entry.path;
    const q = new URLSearchParams();
    for (const [p, input] of inputs) {
      const value = input.value.trim();
      if (p.in === "path") path = path.replace(`{${p.name}}`, encodeURIComponent(value || `{${p.name}}`));
      else if (value) q.set(p.name, value);
    }
    const url = `${path}${q.size ? `?${q}` : ""}`;
    const headers = {};
    const schemes = (entry.op.security ?? []).flatMap((s) => Object.keys(s));
    const token = document.getElementById("auth-token")?.value.trim();
    if (schemes.includes("bearer") && token) headers.Authorization = `Bearer ${token}`;
    const adminKey = document.getElementById("auth-admin")?.value;
    if (schemes.includes("adminKey") && adminKey) headers["X-Admin-Key"] = adminKey;
    if (body) headers["Content-Type"] = "application/json";
    return { url, headers, body: body?.value };
  };
  const renderCurl = () => {
    const { url, headers, body: text } = buildRequest();
    const lines = [`curl -X ${entry.method.toUpperCase()} '${location.origin}${url}'`];
    for (const [name, value] of Object.entries(headers)) {
      lines.push(
        `  -H '${name}: ${
          name === "Authorization" ? "Bearer $TOKEN" : name === "X-Admin-Key" ? "$ADMIN_API_KEY" : value
        }'`,
      );
    }
    if (text) lines.push(`  -d '${JSON.stringify(safeParse(text) ?? text)}'`);
    curl.textContent = lines.join(" \\\n");
  };
  for (const input of inputs.values()) input.addEventListener("input", renderCurl);
  body?.addEventListener("input", renderCurl);
  renderCurl();
  const send = h("button", { type: "submit", className: "btn btn-primary" }, "Send request");
  const form = h(
    "form",
    {
      className: "try",
      onsubmit: async (event) => {
        event.preventDefault();
        const { url, headers, body: text } = buildRequest();
        send.disabled = true;
        const started = performance.now();
        try {
          const res = await fetch(url, { method: entry.method.toUpperCase(), headers, body: text });
          const ms = Math.round(performance.now() - started);
          const raw = await res.text();
          const parsed = safeParse(raw);
          const documented = Object.hasOwn(entry.op.responses ?? {}, String(res.status));
          result.replaceChildren(
            h(
              "div",
              { className: "result-head" },
              h("span", { className: `status status-${String(res.status)[0]}` }, res.status),
              h(
                "span",
                { className: "hint" },
                `${res.statusText} · ${ms} ms${documented ? "" : " · not documented!"}`,
              ),
            ),
            h("pre", {}, parsed === undefined ? raw : JSON.stringify(parsed, null, 2)),
          );
        } catch (err) {
          result.replaceChildren(h("p", { className: "form-error" }, err.message));
        } finally {
          send.disabled = false;
        }
      },
    },
    fields.length ? h("div", { className: "params-form" }, fields) : null,
    body ? h("div", { className: "field" }, h("label", { for: bodyId }, "Body (JSON)"), body) : null,
    h("div", { className: "row" }, send),
    h("details", {}, h("summary", { className: "hint small" }, "curl"), curl),
    result,
  );
  return form;
}

function safeParse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---- Markdown (the small subset the descriptions use) ---------------------------------------------

function escapeHtml(text) {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
}

function inlineHtml(text) {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+|\/[^)\s]*)\)/g, '<a href="$2">$1</a>');
}

function inlineMarkdown(text) {
  const span = h("span", {});
  span.innerHTML = inlineHtml(text); // escaped above; only our own tags are added
  return span;
}

function markdown(text) {
  const out = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length;) {
    const line = lines[i];
    if (/^#{1,4} /.test(line)) {
      const level = Math.min(6, line.indexOf(" ") + 1);
      out.push(`<h${level}>${inlineHtml(line.replace(/^#+ /, ""))}</h${level}>`);
      i++;
    } else if (line.startsWith("|")) {
      const rows = [];
      while (i < lines.length && lines[i].startsWith("|")) rows.push(lines[i++]);
      const cells = (row) => row.replace(/^\||\|$/g, "").split("|").map((c) => inlineHtml(c.trim()));
      const [head, , ...body] = rows;
      out.push(
        `<table><thead><tr>${cells(head).map((c) => `<th>${c}</th>`).join("")}</tr></thead><tbody>${
          body.map((r) => `<tr>${cells(r).map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")
        }</tbody></table>`,
      );
    } else if (/^[-*] /.test(line)) {
      const items = [];
      while (i < lines.length && /^[-*] /.test(lines[i])) items.push(lines[i++].slice(2));
      out.push(`<ul>${items.map((item) => `<li>${inlineHtml(item)}</li>`).join("")}</ul>`);
    } else if (line.trim() === "") {
      i++;
    } else {
      const para = [];
      while (i < lines.length && lines[i].trim() !== "" && !/^(#{1,4} |\||[-*] )/.test(lines[i])) {
        para.push(lines[i++]);
      }
      out.push(`<p>${inlineHtml(para.join(" "))}</p>`);
    }
  }
  const div = h("div", { className: "md" });
  div.innerHTML = out.join("");
  return div;
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
