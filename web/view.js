/** @module Small DOM helpers: element building (text only, never HTML), avatars and times. */

/** The page's element with this id. */
export function $(id) {
  return document.getElementById(id);
}

/**
 * Builds an element. `props` sets properties (`className`, `onclick`, …), keys starting
 * with `aria-`, `data-` or `role` set attributes; children are nodes or text.
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("aria-") || key.startsWith("data-") || key === "role" || key === "for") {
      el.setAttribute(key, value === true ? "" : String(value));
    } else if (key === "style" && typeof value === "object") {
      for (const [name, v] of Object.entries(value)) {
        if (name.startsWith("--")) el.style.setProperty(name, v);
        else el.style[name] = v;
      }
    } else el[key] = value;
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** A stable pleasant hue for an id, so each person keeps their colour. */
export function hue(id) {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash % 360;
}

/** Up to two initials of a name. */
export function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0] ?? "?"];
  return letters.map((w) => Array.from(w)[0]?.toUpperCase() ?? "").join("") || "?";
}

/** An avatar: the picture when there is one, else coloured initials. Decorative. */
export function avatar(person, size = "md", online = false) {
  const wrap = h("span", {
    className: `avatar avatar-${size}`,
    "aria-hidden": "true",
    style: { "--hue": String(hue(person.id ?? person.name ?? "?")) },
  });
  if (person.avatar && /^https?:\/\//.test(person.avatar)) {
    const img = h("img", { src: person.avatar, alt: "", loading: "lazy", referrerPolicy: "no-referrer" });
    img.onerror = () => img.replaceWith(initials(person.name ?? person.id));
    wrap.append(img);
  } else wrap.append(initials(person.name ?? person.id ?? "?"));
  if (online) wrap.append(h("span", { className: "presence-dot" }));
  return wrap;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A short time: "14:05" today, "Nov 3" before. */
export function shortTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const today = new Date();
  return date.toDateString() === today.toDateString() ? timeFmt.format(date) : dayFmt.format(date);
}

/** The time of day of a message. */
export function clockTime(iso) {
  return iso ? timeFmt.format(new Date(iso)) : "";
}

/** A full date and time, for titles and screen readers. */
export function fullTime(iso) {
  return iso ? fullFmt.format(new Date(iso)) : "";
}

/** A human file size. */
export function fileSize(bytes) {
  if (typeof bytes !== "number") return "";
  const units = ["B", "KB", "MB", "GB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/** Whether `url` is safe to put in an `href` or `src`. */
export function isHttpUrl(url) {
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/** Shows a short message at the bottom of the screen (also read by screen readers). */
export function toast(text, kind = "info") {
  const region = $("toasts");
  if (!region) return;
  const item = h(
    "div",
    { className: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    text,
  );
  region.append(item);
  setTimeout(() => item.classList.add("toast-leaving"), 3600);
  setTimeout(() => item.remove(), 4000);
}

/** Stroke icons (24×24 paths), drawn with `currentColor`. */
const ICONS = {
  send: "M22 2 11 13M22 2l-7 20-4-9-9-4 20-7z",
  clip:
    "M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48",
  bell: "M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9M13.73 21a2 2 0 0 1-3.46 0",
  logout: "M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9",
  back: "M19 12H5M12 19l-7-7 7-7",
  more: "M5 12h.01M12 12h.01M19 12h.01",
  reply: "M9 14 4 9l5-5M20 20v-7a4 4 0 0 0-4-4H4",
  smile: "M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20zM8 14s1.5 2 4 2 4-2 4-2M9 9h.01M15 9h.01",
  edit: "M12 20h9M16.5 3.5a2.12 2.12 0 0 1 3 3L7 19l-4 1 1-4L16.5 3.5z",
  trash:
    "M3 6h18M19 6l-1 14a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2L5 6M10 11v6M14 11v6M9 6V4a1 1 0 0 1 1-1h4a1 1 0 0 1 1 1v2",
  chat: "M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2zM12 7v6M9 10h6",
  users:
    "M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM23 21v-2a4 4 0 0 0-3-3.87M16 3.13a4 4 0 0 1 0 7.75",
  x: "M18 6 6 18M6 6l12 12",
  file: "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zM14 2v6h6",
  book: "M4 19.5A2.5 2.5 0 0 1 6.5 17H20V2H6.5A2.5 2.5 0 0 0 4 4.5v15zM4 19.5A2.5 2.5 0 0 0 6.5 22H20v-5",
  copy:
    "M20 9h-9a2 2 0 0 0-2 2v9a2 2 0 0 0 2 2h9a2 2 0 0 0 2-2v-9a2 2 0 0 0-2-2zM5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1",
  clock: "M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20zM12 6v6l4 2",
  alert: "M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20zM12 8v4M12 16h.01",
  archive: "M21 8v13H3V8M1 3h22v5H1zM10 12h4",
  search: "M11 19a8 8 0 1 0 0-16 8 8 0 0 0 0 16zM21 21l-4.35-4.35",
};

/** An inline SVG icon; decorative (the button around it carries the label). */
export function icon(name) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon icon-${name}`);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", ICONS[name] ?? ICONS.alert);
  svg.append(path);
  return svg;
}

/** Replaces every `<span data-icon="name">` placeholder under `root` with its icon. */
export function fillIcons(root = document) {
  for (const el of root.querySelectorAll("[data-icon]")) {
    el.replaceWith(icon(el.getAttribute("data-icon")));
  }
}
