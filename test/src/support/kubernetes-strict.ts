// Strict (unknown-field) checking of Kubernetes manifests. kubernetes-models' JSON-schema validators
// accept unknown fields, as the API server does with a warning, so a misspelt `livenesProbe` would
// pass them and be silently dropped by the cluster. kubernetes-models also ships the API's types as
// TypeScript interfaces: each object becomes a typed constant in a scratch module, and the
// TypeScript compiler's excess-property check names every field the Kubernetes API does not know,
// at any depth (kubeconform -strict does the same from the same OpenAPI spec; it is not installable
// here).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
}

export interface StrictCheckResult {
  /** One line per problem: the object, then the compiler's message. */
  problems: string[];
}

function typedConstant(object: KubernetesObject, index: number): { imports: string; body: string } {
  const alias = `K${index}`;
  return {
    imports: `import type { I${object.kind} as ${alias} } from "kubernetes-models/${object.apiVersion}/${object.kind}";`,
    body: `// ${object.kind} ${object.metadata.name}\nexport const o${index}: ${alias} = ${JSON.stringify(object, null, 2)};`,
  };
}

/**
 * Type-checks `objects` against the Kubernetes API types. `scratchParent` must be a folder from
 * which `kubernetes-models` resolves (inside the workspace) and `tsc` is the compiler's path.
 */
export function checkKubernetesStrict(
  objects: readonly KubernetesObject[],
  scratchParent: string,
  tsc: string,
): StrictCheckResult {
  const dir = mkdtempSync(join(scratchParent, ".k8s-strict-"));
  try {
    const parts = objects.map(typedConstant);
    const source = [...parts.map((p) => p.imports), "", ...parts.map((p) => p.body)].join("\n");
    const file = join(dir, "manifests.mts");
    writeFileSync(file, `${source}\n`);
    const result = spawnSync(
      tsc,
      [
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "--target",
        "es2022",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        file,
      ],
      { encoding: "utf8" },
    );
    if (result.status === 0) return { problems: [] };
    const lines = `${result.stdout}${result.stderr}`.split("\n").filter((l) => l.trim() !== "");
    return { problems: lines.map((line) => attribute(line, source)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prefixes a compiler message `manifests.mts(L,C): ...` with the object it falls in. */
function attribute(line: string, source: string): string {
  const match = /manifests\.mts\((\d+),\d+\): (.*)$/.exec(line);
  if (!match) return line;
  const sourceLines = source.split("\n");
  for (let i = Number(match[1]) - 1; i >= 0; i--) {
    const header = /^\/\/ (.+)$/.exec(sourceLines[i] ?? "");
    if (header) return `${header[1]}: ${match[2]}`;
  }
  return match[2] ?? line;
}
