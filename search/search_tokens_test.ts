import assert from "node:assert/strict";
import fc from "fast-check";
import {
  indexTermOf,
  indexTerms,
  matchesAll,
  MAX_PREFIX_LENGTH,
  MAX_TOKEN_LENGTH,
  messageWords,
  tokenize,
} from "./search_tokens.ts";

Deno.test("tokenize() lowers case, drops diacritics and splits on anything but letters and digits", () => {
  assert.deepEqual(tokenize("Ça va? ÇA VA, Zoë!"), ["ca", "va", "zoe"]);
  assert.deepEqual(tokenize("Crème brûlée — naïve café"), ["creme", "brulee", "naive", "cafe"]);
  assert.deepEqual(tokenize("hello_world foo-bar v2.0 e-mail@x.io"), [
    "hello",
    "world",
    "foo",
    "bar",
    "v2",
    "0",
    "e",
    "mail",
    "x",
    "io",
  ]);
  assert.deepEqual(tokenize("   "), []);
  assert.deepEqual(tokenize("👍🎉 !!"), []);
});

Deno.test("tokenize() folds letters that do not decompose, and compatibility forms", () => {
  assert.deepEqual(tokenize("Straße Øresund Łódź ÆON"), ["strasse", "oresund", "lodz", "aeon"]);
  assert.deepEqual(tokenize("ﬁle ＡＢＣ İstanbul"), ["file", "abc", "istanbul"]);
});

Deno.test("tokenize() makes each Han or kana character a word of its own", () => {
  assert.deepEqual(tokenize("東京タワー2026 Tokyo"), ["東", "京", "タ", "ワ", "ー", "2026", "tokyo"]);
});

Deno.test("tokenize() cuts very long words and keeps each word once", () => {
  const long = "a".repeat(200);
  assert.deepEqual(tokenize(`${long} ${long} b b`), ["a".repeat(MAX_TOKEN_LENGTH), "b"]);
});

Deno.test("indexTerms() gives every prefix up to the prefix length, once", () => {
  assert.deepEqual(indexTerms(["hey", "he"]), ["h", "he", "hey"]);
  const terms = indexTerms(["internationalization"]);
  assert.equal(terms.length, MAX_PREFIX_LENGTH);
  assert.equal(terms.at(-1), "internatio");
  assert.equal(indexTermOf("internationalization"), "internatio");
});

Deno.test("matchesAll() needs every query word to be a word or a word prefix", () => {
  const words = messageWords({ content: "Meeting notes for Thursday", attachmentName: "agenda.pdf" });
  assert.equal(matchesAll(["meet", "thu"], words), true);
  assert.equal(matchesAll(["agenda"], words), true);
  assert.equal(matchesAll(["notes", "friday"], words), false);
  assert.equal(matchesAll(["eeting"], words), false, "no infix matches");
});

Deno.test("tokenize() finds any word of a text again, whatever its case and accents", () => {
  const word = fc.stringMatching(/^[a-zA-Zàéîõüç0-9]{1,12}$/);
  fc.assert(
    fc.property(fc.array(word, { minLength: 1, maxLength: 8 }), fc.nat(), (words, pick) => {
      const text = words.join(" , ");
      const target = words[pick % words.length]!;
      const query = tokenize(target.toUpperCase());
      const tokens = tokenize(text);
      assert.ok(matchesAll(query, tokens), `${target} in ${text}`);
      // Every prefix of the query word is indexed, so the index finds the message too.
      const terms = new Set(indexTerms(tokens));
      for (const q of query) assert.ok(terms.has(indexTermOf(q)));
    }),
  );
});
