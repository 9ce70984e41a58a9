/**
 * @module The small subset of Markdown the OpenAPI descriptions use (headings, tables, lists,
 * paragraphs, `code`, **bold**, links), for the /docs page. Text is escaped before any tag is added.
 */
import { h } from "./view.js";

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

/** Inline Markdown as a span. */
export function inlineMarkdown(text) {
  const span = h("span", {});
  span.innerHTML = inlineHtml(text); // escaped above; only our own tags are added
  return span;
}

/** Block Markdown as a div. */
export function markdown(text) {
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
