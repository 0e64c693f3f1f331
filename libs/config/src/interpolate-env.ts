export type Env = Readonly<Record<string, string | undefined>>;

export type InterpolationResult =
  | { readonly ok: true; readonly value: string; readonly changed: boolean }
  | { readonly ok: false; readonly problem: string };

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands `${VAR}` and `${VAR:-default}` in a string, with shell semantics for `:-` (the default
 * applies when the variable is unset or empty). `$${` writes a literal `${`. Problems name the
 * variable, never its value, because values are often secrets.
 */
export function interpolateEnv(text: string, env: Env): InterpolationResult {
  if (!text.includes("${")) return { ok: true, value: text, changed: false };
  let out = "";
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf("${", i);
    if (start < 0) {
      out += text.slice(i);
      break;
    }
    if (start > 0 && text[start - 1] === "$") {
      // "$${" is the escape for a literal "${": drop one "$" and copy the rest verbatim.
      out += `${text.slice(i, start - 1)}\${`;
      i = start + 2;
      continue;
    }
    out += text.slice(i, start);
    const end = text.indexOf("}", start + 2);
    if (end < 0) {
      return {
        ok: false,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the text is about the ${VAR} syntax
        problem: 'has "${" without a closing "}" (write $${ for a literal "${")',
      };
    }
    const expression = text.slice(start + 2, end);
    const separator = expression.indexOf(":-");
    const name = separator < 0 ? expression : expression.slice(0, separator);
    if (!VAR_NAME.test(name)) {
      return {
        ok: false,
        problem: `has "\${${expression}}", which is not \${NAME} or \${NAME:-default} (names are letters, digits and _)`,
      };
    }
    const value = env[name];
    if (value !== undefined && value !== "") {
      out += value;
    } else if (separator >= 0) {
      out += expression.slice(separator + 2);
    } else {
      return {
        ok: false,
        problem: `needs environment variable ${name}, which is not set: set it, or write \${${name}:-default} to give a default`,
      };
    }
    i = end + 1;
  }
  return { ok: true, value: out, changed: true };
}
