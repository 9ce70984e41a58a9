/**
 * @module Reads the operator counters (`counters.ts`) back: a window of hourly
 * and daily buckets is one short range list each, and the totals one
 * `getMany`, so the cost depends on the window, never on the traffic.
 */
import { counterValue } from "../storage/counters.ts";
import { parseKey } from "../storage/key_parsers.ts";
import { keys } from "../storage/keys.ts";
import { getManyChunked } from "../storage/kv.ts";
import { DAY_MS, dayOf, HOUR_MS, hourOf, PUSH_COUNTS, type PushCount, ROOM_TYPES } from "./counters.ts";

/** Messages created in one hour, in all and per room type. */
export interface HourCount {
  /** The start of the hour, ISO 8601. */
  at: string;
  count: number;
  direct: number;
  group: number;
}

/** Push outcomes of one UTC day. */
export interface DayPush extends Record<PushCount, number> {
  /** The day, `YYYY-MM-DD`. */
  day: string;
}

/** The counters over a window of days ending now. */
export interface StatsWindow {
  messages: { perHour: HourCount[]; total: number; direct: number; group: number };
  activeUsers: { today: number; last7Days: number; perDay: { day: string; count: number }[] };
  rooms: { direct: number; group: number };
  push: Record<PushCount, number> & { perDay: DayPush[] };
}

/** All-time totals (Prometheus counters) and the active-user gauges. */
export interface StatsTotals {
  messages: { direct: number; group: number };
  rooms: { direct: number; group: number };
  push: Record<PushCount, number>;
  activeUsers: { today: number; last7Days: number };
}

/** The counters of the `days` days up to `now` (hours: the last `days × 24`, the current one included). */
export async function readStatsWindow(
  kv: Deno.Kv,
  options: { days: number; now?: number },
): Promise<StatsWindow> {
  const now = options.now ?? Date.now();
  const lastHour = hourOf(now);
  const firstHour = lastHour - options.days * 24 + 1;
  const today = dayOf(now);
  const firstDay = today - options.days + 1;
  const [messageRows, pushRows, activeRows, recentRows, totals] = await Promise.all([
    listRange(kv, keys.statsMessagesAll(), firstHour, lastHour),
    listRange(kv, keys.statsPushAll(), firstHour, lastHour),
    listRange(kv, keys.statsActiveAll(), firstDay, today),
    listRange(kv, keys.statsLastActiveAll(), today - 6, today),
    readStatsTotals(kv, { now, skipActive: true }),
  ]);

  const perHour: HourCount[] = [];
  for (let hour = firstHour; hour <= lastHour; hour++) {
    perHour.push({ at: new Date(hour * HOUR_MS).toISOString(), count: 0, direct: 0, group: 0 });
  }
  const window = { total: 0, direct: 0, group: 0 };
  for (const entry of messageRows) {
    const { hour, label } = parseKey.hourly(entry.key);
    const n = counterValue(entry);
    const bucket = perHour[hour - firstHour]!;
    const type = label === "GROUP" ? "group" : "direct";
    bucket[type] += n;
    bucket.count += n;
    window[type] += n;
    window.total += n;
  }

  const perDay: { day: string; count: number }[] = [];
  const pushDays: DayPush[] = [];
  for (let day = firstDay; day <= today; day++) {
    perDay.push({ day: dayName(day), count: 0 });
    pushDays.push({ day: dayName(day), delivered: 0, notDelivered: 0, failed: 0 });
  }
  for (const entry of activeRows) {
    perDay[parseKey.daily(entry.key).day - firstDay]!.count = counterValue(entry);
  }
  const push: Record<PushCount, number> = { delivered: 0, notDelivered: 0, failed: 0 };
  for (const entry of pushRows) {
    const { hour, label } = parseKey.hourly(entry.key);
    if (!(PUSH_COUNTS as readonly string[]).includes(label)) continue;
    const n = counterValue(entry);
    push[label as PushCount] += n;
    pushDays[dayOf(hour * HOUR_MS) - firstDay]![label as PushCount] += n;
  }
  return {
    messages: { perHour, ...window },
    activeUsers: {
      today: perDay[perDay.length - 1]!.count,
      last7Days: recentRows.reduce((n, entry) => n + counterValue(entry), 0),
      perDay,
    },
    rooms: totals.rooms,
    push: { ...push, perDay: pushDays },
  };
}

/** The all-time totals and today's and the last 7 days' active users: one `getMany` and one short list. */
export async function readStatsTotals(
  kv: Deno.Kv,
  options: { now?: number; skipActive?: boolean } = {},
): Promise<StatsTotals> {
  const now = options.now ?? Date.now();
  const today = dayOf(now);
  const totalKeys = [
    ...ROOM_TYPES.map((type) => keys.statsTotal("messages", type)),
    ...ROOM_TYPES.map((type) => keys.statsTotal("rooms", type)),
    ...PUSH_COUNTS.map((outcome) => keys.statsTotal("push", outcome)),
    keys.statsActive(today),
  ];
  const [entries, recent] = await Promise.all([
    getManyChunked(kv, totalKeys),
    options.skipActive ? [] : listRange(kv, keys.statsLastActiveAll(), today - 6, today),
  ]);
  const value = (i: number) => counterValue(entries[i]!);
  return {
    messages: { direct: value(0), group: value(1) },
    rooms: { direct: value(2), group: value(3) },
    push: { delivered: value(4), notDelivered: value(5), failed: value(6) },
    activeUsers: { today: value(7), last7Days: recent.reduce((n, entry) => n + counterValue(entry), 0) },
  };
}

/** The rows under `prefix` whose second part (an hour or a day) is within `[from, to]`. */
async function listRange(
  kv: Deno.Kv,
  prefix: readonly Deno.KvKeyPart[],
  from: number,
  to: number,
): Promise<Deno.KvEntry<unknown>[]> {
  const out: Deno.KvEntry<unknown>[] = [];
  const selector = { start: [...prefix, from], end: [...prefix, to + 1] };
  for await (const entry of kv.list(selector, { batchSize: 500 })) out.push(entry);
  return out;
}

/** A day number as `YYYY-MM-DD`. */
function dayName(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
