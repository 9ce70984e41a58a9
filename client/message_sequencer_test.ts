import assert from "node:assert/strict";
import fc from "fast-check";
import { MessageSequencer } from "./message_sequencer.ts";

const m = (seq: number) => ({ seq });
const seqs = (messages: { seq: number }[]) => messages.map((x) => x.seq);

Deno.test("MessageSequencer.push() delivers contiguous events at once and drops duplicates", () => {
  const order = new MessageSequencer(0);
  assert.deepEqual(seqs(order.push(m(1))), [1]);
  assert.deepEqual(seqs(order.push(m(2))), [2]);
  assert.deepEqual(order.push(m(2)), []);
  assert.deepEqual(order.push(m(1)), []);
  assert.equal(order.lastSeq, 2);
  assert.equal(order.needsFill, false);
});

Deno.test("MessageSequencer.push() holds an event beyond a gap until the gap is filled", () => {
  const order = new MessageSequencer(0);
  assert.deepEqual(order.push(m(3)), []);
  assert.equal(order.needsFill, true);
  assert.deepEqual(seqs(order.push(m(1))), [1]);
  assert.deepEqual(seqs(order.push(m(2))), [2, 3]);
});

Deno.test("MessageSequencer.page() delivers after afterSeq in order and merges events held ahead", () => {
  const order = new MessageSequencer(5);
  order.push(m(9));
  const startedAt = order.mark();
  assert.deepEqual(seqs(order.page([m(6), m(8)], { complete: false, startedAt })), [6, 8, 9]);
  assert.equal(order.lastSeq, 9);
});

Deno.test("MessageSequencer.page() drops an event held ahead that a later complete page shows deleted", () => {
  const order = new MessageSequencer(0);
  order.push(m(2)); // 1 missed; 2 is deleted before the page is asked for
  const startedAt = order.mark();
  assert.deepEqual(seqs(order.page([m(1)], { complete: true, startedAt })), [1]);
  assert.equal(order.needsFill, false);
  assert.deepEqual(seqs(order.push(m(3))), [3]);
});

Deno.test("MessageSequencer.page() keeps an event that arrived while the page was in flight", () => {
  const order = new MessageSequencer(0);
  const startedAt = order.mark();
  order.push(m(4)); // sent after the page was asked for
  assert.deepEqual(seqs(order.page([m(1), m(2)], { complete: true, startedAt })), [1, 2]);
  assert.equal(order.needsFill, true);
  const again = order.mark();
  assert.deepEqual(seqs(order.page([m(3), m(4)], { complete: true, startedAt: again })), [3, 4]);
  assert.equal(order.needsFill, false);
});

Deno.test("MessageSequencer.push() never delivers a truncated stub and asks for a page", () => {
  const order = new MessageSequencer(0);
  assert.deepEqual(order.push({ seq: 1, truncated: true }), []);
  assert.equal(order.needsFill, true);
  assert.deepEqual(seqs(order.page([m(1)], { complete: true, startedAt: order.mark() })), [1]);
});

type Step =
  | { kind: "commit" }
  | { kind: "delete"; pick: number }
  | { kind: "event"; pick: number; truncated: boolean }
  | { kind: "fillStart" }
  | { kind: "fillEnd" };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "commit" as const }) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: "delete" as const, pick })) },
  {
    weight: 6,
    arbitrary: fc.record({ pick: fc.nat(), truncated: fc.boolean() }).map((e) => ({
      kind: "event" as const,
      ...e,
      truncated: e.truncated && e.pick % 7 === 0,
    })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "fillStart" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "fillEnd" as const }) },
);

Deno.test("MessageSequencer delivers each message once, in seq order, and every one not deleted", () => {
  fc.assert(
    fc.property(fc.nat({ max: 5 }), fc.array(step, { maxLength: 120 }), fc.integer({ min: 1, max: 4 }), (
      afterSeq,
      steps,
      pageSize,
    ) => {
      let committed = afterSeq;
      const deleted = new Set<number>();
      const order = new MessageSequencer<{ seq: number }>(afterSeq);
      const delivered: number[] = [];
      let inFlight: { messages: { seq: number }[]; complete: boolean; startedAt: number } | null = null;
      // The server's answer to `afterSeq=lastSeq`, as it stands when asked.
      const ask = () => {
        const all = [];
        for (let seq = order.lastSeq + 1; seq <= committed; seq++) if (!deleted.has(seq)) all.push(m(seq));
        return {
          messages: all.slice(0, pageSize),
          complete: all.length <= pageSize,
          startedAt: order.mark(),
        };
      };
      const take = (out: { seq: number }[]) => delivered.push(...seqs(out));
      for (const s of steps) {
        if (s.kind === "commit") committed++;
        if (s.kind === "delete" && committed > 0) deleted.add(1 + (s.pick % committed));
        if (s.kind === "event" && committed > 0) {
          // Events arrive at least once, in any order, some never (a dropped socket).
          take(order.push({ seq: 1 + (s.pick % committed), truncated: s.truncated }));
        }
        if (s.kind === "fillStart" && !inFlight) inFlight = ask();
        if (s.kind === "fillEnd" && inFlight) {
          take(order.page(inFlight.messages, inFlight));
          inFlight = null;
        }
      }
      if (inFlight) take(order.page(inFlight.messages, inFlight));
      // The feed fills after every (re)subscription and while needsFill: end with complete pages.
      for (let pages = 0; pages === 0 || order.needsFill; pages++) {
        assert.ok(pages < 1000, "fills do not converge");
        const answer = ask();
        take(order.page(answer.messages, answer));
      }
      for (let i = 1; i < delivered.length; i++) assert.ok(delivered[i - 1]! < delivered[i]!, `${delivered}`);
      assert.ok(delivered.every((seq) => seq > afterSeq && seq <= committed));
      for (let seq = afterSeq + 1; seq <= committed; seq++) {
        if (!deleted.has(seq)) assert.ok(delivered.includes(seq), `${seq} never delivered: ${delivered}`);
      }
    }),
    { numRuns: 500 },
  );
});
