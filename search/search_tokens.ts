/**
 * @module Words for search: one tokenizer for messages and queries, folding
 * case and diacritics, and the word prefixes the index stores. Pure.
 */

/** Longer words are cut to this many characters. */
export const MAX_TOKEN_LENGTH = 64;
/** The index stores word prefixes up to this many characters; longer query words are checked on the text. */
export const MAX_PREFIX_LENGTH = 10;

/** Letters that Unicode does not decompose into a base letter and a mark. */
const FOLDS: Record<string, string> = {
  "ß": "ss",
  "æ": "ae",
  "œ": "oe",
  "ø": "o",
  "ł": "l",
  "đ": "d",
  "ð": "d",
  "þ": "th",
  "ħ": "h",
  "ı": "i",
};

/** Scripts written without spaces: each character counts as a word. */
const UNSPACED = /[\p{Script_Extensions=Han}\p{Script_Extensions=Hiragana}\p{Script_Extensions=Katakana}]/u;
const WORD = /[\p{L}\p{N}]+/gu;

/**
 * The distinct words of a text, in order of first appearance: lower case,
 * without diacritics ("Crème" → "creme"), split on anything that is not a
 * letter or digit; Han and kana characters are words of their own.
 *
 * @example
 * ```ts
 * tokenize("Ça va? ÇA VA, Zoë!"); // ["ca", "va", "zoe"]
 * ```
 */
export function tokenize(text: string): string[] {
  const folded = text.toLowerCase().normalize("NFKD").replace(/\p{M}+/gu, "")
    .replace(/[ßæœøłđðþħı]/g, (c) => FOLDS[c]!);
  const words = new Set<string>();
  for (const run of folded.match(WORD) ?? []) {
    if (!UNSPACED.test(run)) {
      words.add(cut(run, MAX_TOKEN_LENGTH));
      continue;
    }
    // Split runs mixing spaced and unspaced scripts: "東京2026" → 東, 京, 2026.
    let word = "";
    for (const char of run) {
      if (UNSPACED.test(char)) {
        if (word) words.add(cut(word, MAX_TOKEN_LENGTH));
        word = "";
        words.add(char);
      } else word += char;
    }
    if (word) words.add(cut(word, MAX_TOKEN_LENGTH));
  }
  return [...words];
}

/** The index terms of some words: every prefix of 1 to `MAX_PREFIX_LENGTH` characters, once each. */
export function indexTerms(words: string[]): string[] {
  const terms = new Set<string>();
  for (const word of words) {
    const chars = Array.from(word);
    for (let n = 1; n <= Math.min(chars.length, MAX_PREFIX_LENGTH); n++) {
      terms.add(chars.slice(0, n).join(""));
    }
  }
  return [...terms];
}

/** The index term that finds the messages a query word can match. */
export function indexTermOf(queryWord: string): string {
  return cut(queryWord, MAX_PREFIX_LENGTH);
}

/** Whether every query word is a whole word or a word prefix of the text's words. */
export function matchesAll(queryWords: string[], words: string[]): boolean {
  return queryWords.every((q) => words.some((w) => w.startsWith(cut(q, MAX_TOKEN_LENGTH))));
}

/** The searchable words of a message: its text and its attachment's file name. */
export function messageWords(message: { content: string; attachmentName?: string }): string[] {
  return tokenize(`${message.content} ${message.attachmentName ?? ""}`);
}

function cut(word: string, max: number): string {
  const chars = Array.from(word);
  return chars.length <= max ? word : chars.slice(0, max).join("");
}
