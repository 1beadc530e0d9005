// sentiment: a lexicon-based sentiment scorer for short texts (reviews, messages, tickets).
//
// Entry points:
//   score  text -> {"score","comparative","label","positive":[...],"negative":[...]}
//   batch  one text per line -> one JSON result per line (JSON Lines), empty lines skipped
//
// Each word found in the lexicon (English plus a few French, Spanish, German words and
// emoji) adds its valence (-5..+5). A negator ("not", "never", "don't", ...) within the three
// words before a sentiment word flips it; an intensifier ("very", "extremely") or a
// downtoner ("slightly") just before it scales it; a negated word is listed as "not WORD".
// "comparative" is the score per word;
// the label is positive (score > 0), negative (score < 0) or neutral.
import * as abi from "../../../plugin-sdk/assemblyscript/abi";
export { abi_version, abi_alloc, abi_reset } from "../../../plugin-sdk/assemblyscript/abi";
import { LEXICON, MODIFIERS, NEGATORS } from "./lexicon";

class Tables {
  valence: Map<string, i32> = new Map<string, i32>();
  negators: Set<string> = new Set<string>();
  modifiers: Map<string, f64> = new Map<string, f64>();

  constructor() {
    const pairs = LEXICON.split(",");
    for (let i = 0; i < pairs.length; i++) {
      const cut = pairs[i].lastIndexOf(":");
      this.valence.set(pairs[i].substring(0, cut), I32.parseInt(pairs[i].substring(cut + 1)));
    }
    const neg = NEGATORS.split(",");
    for (let i = 0; i < neg.length; i++) this.negators.add(neg[i]);
    const mods = MODIFIERS.split(",");
    for (let i = 0; i < mods.length; i++) {
      const cut = mods[i].lastIndexOf(":");
      this.modifiers.set(mods[i].substring(0, cut), F64.parseFloat(mods[i].substring(cut + 1)));
    }
  }
}

function isEmoji(cp: i32): bool {
  return (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x2600 && cp <= 0x27bf);
}

function isWordChar(cp: i32): bool {
  if (cp < 0x80) {
    return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  }
  if (cp <= 0xbf || cp == 0xd7 || cp == 0xf7) return false;
  if (cp >= 0x2000 && cp <= 0x2bff) return false;
  if (cp >= 0x3000 && cp <= 0x303f) return false;
  return !isEmoji(cp) && cp != 0xfe0f;
}

function normalize(word: string): string {
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c >= 0x80 || (c >= 0x41 && c <= 0x5a)) {
      return word.toLowerCase().replaceAll("\u2019", "'");
    }
  }
  return word; // ASCII lower case already: the common case, kept cheap
}

/** Lowercased words, apostrophes kept inside words (U+2019 becomes '), emoji as words. */
function tokenize(text: string): string[] {
  const tokens = new Array<string>();
  let start = -1; // code unit index where the current word began
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i);
    const width = cp > 0xffff ? 2 : 1;
    const nextCp = i + width < text.length ? text.codePointAt(i + width) : 0;
    const joiner = (cp == 0x27 || cp == 0x2019) && start >= 0 && isWordChar(nextCp);
    if (isWordChar(cp)) {
      if (start < 0) start = i;
    } else if (!joiner) {
      if (start >= 0) tokens.push(normalize(text.substring(start, i)));
      start = -1;
      if (isEmoji(cp)) {
        // A heart followed by the emoji presentation selector is one emoji.
        const end = i + width + (nextCp == 0xfe0f ? 1 : 0);
        tokens.push(text.substring(i, end));
        i = end;
        continue;
      }
    }
    i += width;
  }
  if (start >= 0) tokens.push(normalize(text.substring(start)));
  return tokens;
}

function jsonList(words: string[]): string {
  const quoted = new Array<string>(words.length);
  for (let i = 0; i < words.length; i++) quoted[i] = abi.jsonString(words[i]);
  return "[" + quoted.join(",") + "]";
}

function analyze(text: string, tables: Tables): string {
  const tokens = tokenize(text);
  let score: f64 = 0;
  const positive = new Array<string>();
  const negative = new Array<string>();
  let negateUntil = -1; // index up to which a negator applies
  for (let i = 0; i < tokens.length; i++) {
    const word = tokens[i];
    if (tables.negators.has(word)) {
      negateUntil = i + 3;
      continue;
    }
    if (!tables.valence.has(word)) continue;
    let value = <f64>tables.valence.get(word);
    if (i > 0 && tables.modifiers.has(tokens[i - 1])) value *= tables.modifiers.get(tokens[i - 1]);
    let shown = word;
    if (i <= negateUntil) {
      value = -value;
      negateUntil = -1;
      shown = "not " + word;
    }
    score += value;
    if (value > 0) positive.push(shown);
    else if (value < 0) negative.push(shown);
  }
  const comparative = tokens.length == 0 ? 0.0 : score / <f64>tokens.length;
  const label = score > 0 ? "positive" : score < 0 ? "negative" : "neutral";
  return (
    '{"score":' + abi.fixed(score, 2) +
    ',"comparative":' + abi.fixed(comparative, 3) +
    ',"label":"' + label + '"' +
    ',"positive":' + jsonList(positive) +
    ',"negative":' + jsonList(negative) + "}"
  );
}

function scoreText(text: string): string {
  return analyze(text, new Tables());
}

function batchText(text: string): string {
  const tables = new Tables();
  const lines = text.split("\n");
  let out = "";
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim().length == 0) continue;
    out += analyze(lines[i], tables) + "\n";
  }
  return out;
}

export function score(ptr: usize, len: usize): i64 {
  return abi.runText(ptr, len, scoreText);
}

export function batch(ptr: usize, len: usize): i64 {
  return abi.runText(ptr, len, batchText);
}
