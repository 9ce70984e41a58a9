/**
 * @module The operations of an OpenAPI document as the /docs page shows them: one collapsible
 * entry per operation (built when first opened) with its description, authorization,
 * parameters, request body, responses and "Try it", grouped in sections by tag.
 */
import { inlineMarkdown, markdown } from "./docs_markdown.js";
import { schemaTools } from "./docs_schema.js";
import { tryIt } from "./docs_try.js";
import { h } from "./view.js";

/** The id of an operation's entry, for links from the navigation. */
export function anchor(entry) {
  return `op-${entry.method}-${entry.path.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")}`;
}

/** The views of one document's operations: `tagSection(tag, ops)` and `schemasSection()`. */
export function operationViews(doc) {
  const { deref, refName, typeLabel, constraints, schemaView, schemasSection, bodyExample } = schemaTools(
    doc,
  );

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
      bodySchema
        ? h("h3", {}, "Request body", h("span", { className: "hint" }, " · application/json"))
        : null,
      bodySchema ? schemaView(bodySchema) : null,
      h("h3", {}, "Responses"),
      responsesList(op.responses ?? {}),
      h("h3", {}, "Try it"),
      tryIt({
        entry,
        params,
        bodySchema,
        id: anchor(entry),
        bodyExample: bodySchema ? bodyExample(entry, bodySchema) : undefined,
      }),
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

  return { tagSection, schemasSection };
}
