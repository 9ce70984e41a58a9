/** @module The dashboard's charts: messages per hour, active users per day, delivery latency, push outcomes. */
import { barChart, histogramBars, stackedBarChart } from "./charts.js";
import { fill, h } from "./dom.js";

const COLORS = {
  direct: "#2f6fdf",
  group: "#8a4fd8",
  users: "#1f9d72",
  delivered: "#1f9d72",
  notDelivered: "#e0a100",
  failed: "#d64545",
  latency: "#2f6fdf",
};

function card(title, subtitle, svg, name) {
  const figure = h("figure", { class: "chart-card", "data-chart": name });
  figure.append(h("figcaption", {}, h("strong", {}, title), " ", h("span", { class: "muted" }, subtitle)));
  const holder = h("div", { class: "svg" });
  holder.innerHTML = svg; // built by charts.js, every text escaped
  figure.append(holder);
  return figure;
}

/** Draws the four charts from `GET /api/admin/stats`. */
export function renderCharts(el, stats) {
  const hours = stats.messages.perHour.slice(-24);
  const hourLabel = (at) => `${at.slice(11, 13)}h`;
  const messages = stackedBarChart({
    title: "Messages per hour",
    series: [{ name: "direct", color: COLORS.direct }, { name: "group", color: COLORS.group }],
    bars: hours.map((x) => ({ label: hourLabel(x.at), values: [x.direct, x.group] })),
    labelEvery: 3,
  });
  const active = barChart({
    title: "Active users per day",
    name: "users",
    color: COLORS.users,
    bars: stats.activeUsers.perDay.map((d) => ({ label: d.day.slice(5), value: d.count })),
  });
  const push = stackedBarChart({
    title: "Push outcomes per day",
    series: [
      { name: "delivered", color: COLORS.delivered },
      { name: "not delivered", color: COLORS.notDelivered },
      { name: "failed", color: COLORS.failed },
    ],
    bars: stats.push.perDay.map((d) => ({
      label: d.day.slice(5),
      values: [d.delivered, d.notDelivered, d.failed],
    })),
  });
  const latencyCards = Object.entries(stats.deliveryLatency).filter(([, l]) => l.count > 0).map(([sink, l]) =>
    card(
      `Delivery latency · ${sink}`,
      `${l.count} batches, mean ${(l.meanSeconds * 1000).toFixed(1)} ms (this server process)`,
      barChart({
        title: `Delivery latency ${sink}`,
        name: "batches",
        color: COLORS.latency,
        bars: histogramBars(l.buckets, l.count),
      }),
      `latency-${sink}`,
    )
  );
  fill(
    el,
    card(
      "Messages per hour",
      `${stats.messages.perHour.slice(-24).reduce((n, x) => n + x.count, 0)} in the last 24 h`,
      messages,
      "messages",
    ),
    card(
      "Active users per day",
      `${stats.activeUsers.today} today, ${stats.activeUsers.last7Days} in the last 7 days`,
      active,
      "active-users",
    ),
    latencyCards.length > 0 ? latencyCards : h(
      "figure",
      { class: "chart-card", "data-chart": "latency" },
      h("figcaption", {}, h("strong", {}, "Delivery latency")),
      h("p", { class: "empty" }, "No deliveries by this server process yet."),
    ),
    card(
      "Push outcomes",
      `${stats.push.delivered} delivered, ${stats.push.notDelivered} not delivered, ${stats.push.failed} failed attempts`,
      push,
      "push",
    ),
    h(
      "p",
      { class: "muted totals" },
      `Rooms created: ${stats.rooms.direct} direct, ${stats.rooms.group} groups.`,
    ),
  );
}
