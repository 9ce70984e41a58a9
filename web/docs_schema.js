/**
 * @module JSON schemas of an OpenAPI document, for the /docs page: `$ref` resolution, type labels and
 * constraints, a collapsible schema tree, the list of named schemas, and example values.
 */
import { h } from "./view.js";

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

/** The schema helpers of one OpenAPI document. */
export function schemaTools(doc) {
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
    const item =
      resolved.type === "array" || (Array.isArray(resolved.type) && resolved.type.includes("array"))
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

  return { deref, refName, typeLabel, constraints, schemaView, schemasSection, bodyExample };
}
