// Whether a topic or group pattern is usable: it compiles, anchored as the filters use it, and it
// cannot backtrack exponentially on a hostile topic name.
import { anchored } from "./topic-names";

/** Why `pattern` cannot be used as a full-name filter, or undefined when it can. */
export function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    anchored(pattern);
  } catch (error) {
    return (error as Error).message;
  }
  if (hasNestedQuantifier(pattern)) {
    return "a repeated group contains a repetition itself (like (a+)+), which can take exponential time on some topic names; write it without the nesting";
  }
  return undefined;
}
/**
 * Whether an unbounded quantifier (*, +, {n,}) applies to a group that itself contains one: the
 * shape of patterns whose backtracking is exponential. Character classes and escapes are skipped.
 */
export function hasNestedQuantifier(pattern: string): boolean {
  const groups: boolean[] = [];
  let inClass = false;
  const unboundedAt = (i: number) =>
    pattern[i] === "*" || pattern[i] === "+" || /^\{\d+,\}/.test(pattern.slice(i));
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "(") groups.push(false);
    else if (c === ")") {
      const innerRepeats = groups.pop() ?? false;
      if (innerRepeats && unboundedAt(i + 1)) return true;
      if (groups.length > 0 && (innerRepeats || unboundedAt(i + 1)))
        groups[groups.length - 1] = true;
    } else if (unboundedAt(i) && groups.length > 0) {
      groups[groups.length - 1] = true;
    }
  }
  return false;
}
