/**
 * Padding for the benches' large definitions: one repeated letter, which deflates about a
 * thousandfold, or words of English-like text, which deflate about as XML does (kept
 * definitions are deflated, see src/model/compact_definition.ts). `EVIRT_BENCH_PADDING=words`
 * picks words in the benches that use it.
 *
 * @module
 */

/** How a bench pads: `letter` (the default) or `words`. */
export type PaddingKind = "letter" | "words";

/** The kind `EVIRT_BENCH_PADDING` asks for (`words`, else `letter`). */
export function paddingKind(env: Record<string, string | undefined>): PaddingKind {
  return env.EVIRT_BENCH_PADDING === "words" ? "words" : "letter";
}

const WORDS = (
  "the domain guest disk network memory vcpu device host pool volume snapshot console serial " +
  "boot kernel image bridge address controller channel graphics video sound watchdog policy"
).split(" ");

/**
 * `length` characters of padding: `letter` repeated, or words drawn by a fixed pseudo-random
 * sequence seeded by `seed` (the same seed, the same text).
 */
export function paddingText(kind: PaddingKind, length: number, seed = 0, letter = "x"): string {
  if (kind === "letter") return letter.repeat(length);
  let state = seed + 1;
  const parts: string[] = [];
  let size = 0;
  while (size < length) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const word = WORDS[state % WORDS.length] + (state % 7 === 0 ? `-${state % 1000}` : "");
    parts.push(word);
    size += word.length + 1;
  }
  return parts.join(" ").slice(0, length);
}
