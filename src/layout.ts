/**
 * Reads native `extern struct`s by the layouts libcustody describes at run time
 * ("name:offset:size,..."), so field offsets are never written down twice.
 *
 * @module
 */

/** Where one field lives in a struct. */
export interface Field {
  readonly offset: number;
  readonly size: 4 | 8;
}

/** A parsed struct layout. */
export interface Layout<Name extends string> {
  readonly fields: Readonly<Record<Name, Field>>;
  readonly byteLength: number;
}

/**
 * Parses a layout string and checks that it has exactly the expected fields, which
 * catches a JS side running against a libcustody of another version.
 *
 * @example
 * ```ts
 * import { parseLayout } from "./layout.ts";
 * const layout = parseLayout("a:0:8,b:8:4", ["a", "b"] as const, "Sample");
 * console.log(layout.fields.b.offset); // 8
 * ```
 */
export function parseLayout<const Name extends string>(
  text: string,
  expected: readonly Name[],
  structName: string,
): Layout<Name> {
  const fields: Record<string, Field> = {};
  let byteLength = 0;
  for (const entry of text.split(",")) {
    const [name, offset, size] = entry.split(":");
    if (size !== "4" && size !== "8") continue; // Padding and reserved fields.
    fields[name] = { offset: Number(offset), size: Number(size) as 4 | 8 };
    byteLength = Math.max(byteLength, Number(offset) + Number(size));
  }
  const missing = expected.filter((name) => !(name in fields));
  if (missing.length > 0) {
    throw new Error(`libcustody's ${structName} lacks ${missing.join(", ")}: the library and custody's TypeScript differ in version`);
  }
  // A spread keeps it a fast object in V8 (see `struct` in src/memory/types.ts).
  return { fields: { ...fields } as Record<Name, Field>, byteLength: Math.ceil(byteLength / 8) * 8 };
}

/** Reads field `field` of the struct at byte `base` of `view` as a number. */
export function readField(view: DataView, base: number, field: Field): number {
  if (field.size === 4) return view.getUint32(base + field.offset, true);
  return view.getUint32(base + field.offset, true) + view.getUint32(base + field.offset + 4, true) * 2 ** 32;
}

/** Writes `value` (a non-negative integer below 2^53) into field `field`. */
export function writeField(view: DataView, base: number, field: Field, value: number): void {
  if (field.size === 4) {
    view.setUint32(base + field.offset, value, true);
    return;
  }
  view.setUint32(base + field.offset, value % 2 ** 32, true);
  view.setUint32(base + field.offset + 4, Math.floor(value / 2 ** 32), true);
}

/** Reads every field of `layout` at byte `base` into a plain object. */
export function readStruct<Name extends string>(view: DataView, base: number, layout: Layout<Name>): Record<Name, number> {
  const out = {} as Record<Name, number>;
  for (const name in layout.fields) out[name] = readField(view, base, layout.fields[name]);
  return out;
}
