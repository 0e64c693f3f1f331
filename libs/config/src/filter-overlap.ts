import type { TopicFilterConfig } from "./geo-config";
import { anchored } from "./topic-names";

/**
 * Why two topic filters may select the same topic name, or undefined when they provably cannot.
 * Deciding regex intersection in general is costly, so this is conservative: literal names are
 * tested exactly, and two patterns are considered disjoint only when their literal prefixes
 * differ ("orders-us-.*" vs "orders-eu-.*"). Anything else is reported as a possible overlap.
 */
export function filterOverlap(a: TopicFilterConfig, b: TopicFilterConfig): string | undefined {
  for (const pa of a.include) {
    for (const pb of b.include) {
      const reason = patternOverlap(pa, a, pb, b);
      if (reason !== undefined) return reason;
    }
  }
  return undefined;
}

function patternOverlap(
  pa: string,
  a: TopicFilterConfig,
  pb: string,
  b: TopicFilterConfig,
): string | undefined {
  const la = literalPrefix(pa);
  const lb = literalPrefix(pb);
  if (la.exact) return literalOverlap(la.prefix, a, b);
  if (lb.exact) return literalOverlap(lb.prefix, b, a);
  if (la.prefix.startsWith(lb.prefix) || lb.prefix.startsWith(la.prefix)) {
    return `include patterns "${pa}" and "${pb}" can match the same topic names`;
  }
  return undefined;
}

// `name` is a literal include of filter `own`; does `other` select it too?
function literalOverlap(
  name: string,
  own: TopicFilterConfig,
  other: TopicFilterConfig,
): string | undefined {
  const selected = (filter: TopicFilterConfig) =>
    filter.include.some((p) => safeTest(p, name)) && !filter.exclude.some((p) => safeTest(p, name));
  return selected(own) && selected(other) ? `both select topic "${name}"` : undefined;
}

function safeTest(pattern: string, name: string): boolean {
  try {
    return anchored(pattern).test(name);
  } catch {
    return false;
  }
}

const META = new Set([".", "[", "]", "(", ")", "{", "}", "*", "+", "?", "^", "$", "|"]);

/**
 * The literal text every match of `pattern` starts with, and whether the pattern is exactly that
 * text. Escaped punctuation ("\\.") counts as literal; anything else ends the prefix.
 */
export function literalPrefix(pattern: string): { prefix: string; exact: boolean } {
  if (pattern.includes("|")) return { prefix: "", exact: false };
  let body = pattern;
  if (body.startsWith("^")) body = body.slice(1);
  if (body.endsWith("$") && !body.endsWith("\\$")) body = body.slice(0, -1);
  let prefix = "";
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    let literal: string;
    let width: number;
    if (c === "\\") {
      const next = body[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) break;
      literal = next;
      width = 2;
    } else if (META.has(c)) {
      break;
    } else {
      literal = c;
      width = 1;
    }
    const quantifier = body[i + width];
    if (quantifier === "?" || quantifier === "*" || quantifier === "{") break;
    prefix += literal;
    i += width;
    if (quantifier === "+") break;
  }
  return { prefix, exact: i === body.length };
}
