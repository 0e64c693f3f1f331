// Hostile requests for a method, as raw bytes: random messages of the method's input type with
// extreme values (huge strings and lists, unknown enum numbers, deep nesting), then mangled at
// the byte level (truncated, wrong wire types, invalid UTF-8, garbage). Deterministic per seed.
import { create, type DescField, type DescMessage, ScalarType, toBinary } from "@bufbuild/protobuf";

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
export function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick };
}
type Random = ReturnType<typeof createRandom>;

const STRINGS = [
  "",
  "a",
  "flow",
  "us-east",
  "..",
  "../../etc/passwd",
  "🚀",
  "\u0000",
  "%s%n",
  "-1",
];
const INTEGERS = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 65536];
const INT64S = [
  "0",
  "1",
  "-1",
  "9223372036854775807",
  "-9223372036854775808",
  "18446744073709551615",
];

/** Whether the request being built may carry huge strings and lists (a few percent of them). */
let hugeAllowed = false;

function randomString(random: Random, small: boolean): string {
  switch (small || !hugeAllowed ? 2 + random.int(3) : random.int(5)) {
    case 0:
      return "x".repeat(random.pick([1000, 100_000, 1_000_000]));
    case 1:
      return String.fromCharCode(...Array.from({ length: 20 }, () => random.int(0xd800)));
    case 2:
      return "~~"; // replaced by invalid UTF-8 at the byte level
    default:
      return random.pick(STRINGS);
  }
}

function scalarValue(type: ScalarType, random: Random, small: boolean): unknown {
  switch (type) {
    case ScalarType.STRING:
      return randomString(random, small);
    case ScalarType.BYTES:
      return new Uint8Array(random.pick([0, 3, 4096])).map(() => random.int(256));
    case ScalarType.BOOL:
      return random.int(2) === 1;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return random.pick([0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e308]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return BigInt(random.pick(INT64S.slice(0, 5)));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return BigInt(random.pick(["0", "1", "18446744073709551615"]));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return random.pick([0, 1, 4294967295]);
    default:
      return random.pick(INTEGERS);
  }
}

function fieldValue(field: DescField, random: Random, depth: number): unknown {
  const one = (): unknown => {
    switch (field.fieldKind) {
      case "scalar":
        return field.longAsString && typeof scalarValue(field.scalar, random, true) === "bigint"
          ? random.pick(INT64S)
          : scalarValue(field.scalar, random, depth > 0);
      case "enum":
        return random.pick([0, 1, 2, 99, -5, 2 ** 31 - 1]);
      case "message":
        return depth > 4 ? undefined : randomMessage(field.message, random, depth + 1);
      default:
        return undefined;
    }
  };
  if (field.fieldKind === "list") {
    const count = random.pick(
      field.listKind === "message" || !hugeAllowed ? [0, 1, 10] : [0, 1, 10, 10_000],
    );
    const element = { ...field, fieldKind: field.listKind } as unknown as DescField;
    const items: unknown[] = [];
    for (let i = 0; i < count; i++) {
      const value = fieldValue(element, random, depth + 2);
      if (value !== undefined) items.push(value);
    }
    return items;
  }
  if (field.fieldKind === "map") return {};
  return one();
}

function randomMessage(schema: DescMessage, random: Random, depth = 0): unknown {
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (random.int(3) === 0 || field.oneof !== undefined) continue;
    const value = fieldValue(field, random, depth);
    if (value !== undefined) init[field.localName] = value;
  }
  for (const oneof of schema.oneofs) {
    const field = random.pick(oneof.fields);
    const value = fieldValue(field, random, depth);
    if (value !== undefined) init[oneof.localName] = { case: field.localName, value };
  }
  return create(schema, init as never);
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let v = value >>> 0;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return bytes;
}

/** Field 1, length-delimited, nested `depth` times: a message inside a message inside... */
function deepNesting(depth: number): Buffer {
  let inner: number[] = [];
  for (let i = 0; i < depth; i++) inner = [0x0a, ...varint(inner.length), ...inner];
  return Buffer.from(inner);
}

/** Random fields with random numbers and wire types: the wrong type for most real fields. */
function wrongTypes(random: Random): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < 1 + random.int(8); i++) {
    const wireType = random.pick([0, 1, 2, 5, 3, 4, 6, 7]);
    bytes.push(...varint(((1 + random.int(20)) << 3) | wireType));
    if (wireType === 0) bytes.push(...varint(random.int(2 ** 31)));
    else if (wireType === 1) bytes.push(...Array.from({ length: 8 }, () => random.int(256)));
    else if (wireType === 5) bytes.push(...Array.from({ length: 4 }, () => random.int(256)));
    else if (wireType === 2) bytes.push(...varint(3), 0xff, 0xfe, 0xfd);
  }
  return Buffer.from(bytes);
}

/** One hostile request body for `schema`. */
export function hostileRequest(schema: DescMessage, random: Random): Buffer {
  hugeAllowed = random.int(20) === 0;
  const valid = () => {
    try {
      return Buffer.from(toBinary(schema, randomMessage(schema, random) as never));
    } catch {
      // A value the encoder itself refuses (an int64 out of range): send it as a varint.
      return Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    }
  };
  switch (random.int(8)) {
    case 0:
      return Buffer.from(Array.from({ length: random.int(200) }, () => random.int(256)));
    case 1: {
      const bytes = valid();
      return bytes.subarray(0, random.int(bytes.length + 1));
    }
    case 2:
      return wrongTypes(random);
    case 3:
      return deepNesting(hugeAllowed ? 5000 : random.pick([10, 100]));
    case 4: {
      const bytes = valid();
      for (let i = 0; i < 1 + random.int(4) && bytes.length > 0; i++) {
        bytes[random.int(bytes.length)] = random.int(256);
      }
      return bytes;
    }
    case 5: {
      // Strings "~~" become invalid UTF-8 (0xC3 0x28) without changing lengths.
      const bytes = valid();
      for (let i = bytes.indexOf("~~"); i >= 0; i = bytes.indexOf("~~", i + 2)) {
        bytes[i] = 0xc3;
        bytes[i + 1] = 0x28;
      }
      return bytes;
    }
    default:
      return valid();
  }
}
