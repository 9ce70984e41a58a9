/**
 * @module The /docs page's "Try it": builds a request from the inputs, shows it as curl, sends it
 * with the token or admin key of the Authorize panel, and shows the answer.
 */
import { h } from "./view.js";

/**
 * The "Try it" form of an operation: path and query inputs, a JSON body, the curl command, and the
 * answer with its status and time. `bodyExample` prefills the body.
 */
export function tryIt({ entry, params, bodySchema, id, bodyExample }) {
  const inputs = new Map();
  const fields = params.filter((p) => p.in === "path" || p.in === "query").map((p) => {
    const inputId = `${id}-${p.in}-${p.name}`;
    const input = h("input", {
      id: inputId,
      placeholder: p.schema?.default !== undefined ? String(p.schema.default) : p.required ? "required" : "",
      autocapitalize: "none",
      spellcheck: false,
    });
    inputs.set(p, input);
    return h(
      "div",
      { className: "field" },
      h("label", { for: inputId }, `${p.name} `, h("span", { className: "hint" }, `(${p.in})`)),
      input,
    );
  });
  const bodyId = `${id}-body`;
  const body = bodySchema
    ? h("textarea", {
      id: bodyId,
      spellcheck: false,
      value: JSON.stringify(bodyExample, null, 2),
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
