/**
 * The tracked allocator, from JS: allocate and free native memory, configure the checks,
 * read the violations it detected and enumerate the blocks still live.
 *
 * Every block records its size, alignment, tag and sequence number. A double free, an
 * invalid free, an overrun, an underrun or a write after free is counted and recorded as a
 * {@linkcode ViolationEvent}; the host process keeps running.
 *
 * @module
 */
import { runtime } from "./ffi/mod.ts";
import { checkAddress, checkU32 } from "./address.ts";
import { CustodyError } from "./errors.ts";
import { parseLayout, readField, readStruct, writeField } from "./layout.ts";
import { native } from "./native/library.ts";
import { outParameters, scratchBuffer, utf8 } from "./native/scratch.ts";
import { check } from "./native/status.ts";

/** The kinds of misuse the allocator detects. */
export type ViolationKind = "double_free" | "invalid_free" | "overrun" | "underrun" | "write_after_free";

/** How a violation was found, or how the address relates to known blocks. */
export type ViolationDetail =
  | "none"
  | "interior_pointer"
  | "unknown_pointer"
  | "in_quarantine"
  | "recently_freed"
  | "on_realloc"
  | "on_check"
  | "on_evict"
  | "on_free";

/** One detected violation. */
export interface ViolationEvent {
  /** Increases by one per event, over the life of the process. */
  readonly id: number;
  readonly kind: ViolationKind;
  readonly detail: ViolationDetail;
  /** The address passed to free, or the start of the damaged block. */
  readonly address: number;
  /** The block's size (0 when the pointer was never a block). */
  readonly size: number;
  /** The block's allocation sequence number (0 when unknown). */
  readonly sequence: number;
  /** The block's tag name, or null if untagged. */
  readonly tag: string | null;
  /**
   * For an interior pointer, the start of the block it points into; for an overrun, the
   * offset of the first damaged byte past the end; for an underrun, how many bytes before
   * the start; for a write after free, the offset of the first changed byte.
   */
  readonly related: number;
}

/** One block that is still allocated. */
export interface LiveBlock {
  readonly address: number;
  readonly size: number;
  readonly alignment: number;
  readonly sequence: number;
  readonly tag: string | null;
}

/** The allocator's run-time settings. */
export interface AllocatorConfig {
  /** Most freed blocks held back to catch writes after free and double frees; 0 turns the quarantine off. */
  readonly quarantineMaxCount: number;
  /** Most bytes held in the quarantine; larger blocks skip it. */
  readonly quarantineMaxBytes: number;
  /** Guard bytes after each new block, checked for overruns (0 to 1024). */
  readonly canarySize: number;
  /** Fill freed blocks with a pattern and verify it when they leave the quarantine. */
  readonly poison: boolean;
}

/** Options of {@linkcode malloc}. */
export interface MallocOptions {
  /** A power of two up to 65536; default 16. */
  readonly alignment?: number;
  /** A tag name ({@linkcode tag}) or id; default: untagged. */
  readonly tag?: string | number;
  /** Zero the memory; default false. */
  readonly zero?: boolean;
}

const eventLayout = parseLayout(
  runtime.cString(native.custody_event_layout()),
  ["id", "kind", "detail", "address", "size", "sequence", "tag", "related"],
  "Event",
);
const liveLayout = parseLayout(
  runtime.cString(native.custody_live_record_layout()),
  ["address", "size", "sequence", "tag", "alignment"],
  "LiveRecord",
);
const configLayout = parseLayout(
  runtime.cString(native.custody_config_layout()),
  ["quarantine_max_count", "quarantine_max_bytes", "canary_size", "poison"],
  "Config",
);

const tagIds = new Map<string, number>();
const tagNames = new Map<number, string | null>([[0, null]]);

/**
 * The id of a tag name, interned natively so C code and JS agree on it. Tag names show in
 * events and leak reports.
 *
 * @example
 * ```ts
 * import { malloc, free, tag } from "./allocator.ts";
 * const id = tag("image-cache");
 * const address = malloc(64, { tag: id });
 * free(address);
 * ```
 */
export function tag(name: string): number {
  // Allocations mostly repeat the last tag: a Map lookup for each showed in Deno's profile.
  if (name === lastTag.name) return lastTag.id;
  let id = tagIds.get(name);
  if (id === undefined) {
    const text = utf8(name);
    const result = native.custody_intern(text.address, text.length);
    check(result, () => `Cannot intern tag ${JSON.stringify(name.slice(0, 40))}`);
    id = result;
    tagIds.set(name, id);
    tagNames.set(id, name);
  }
  lastTag = { name, id };
  return id;
}

let lastTag: { readonly name: string; readonly id: number } = { name: "", id: -1 };

/**
 * The name of a tag id, or null for untagged (id 0) and ids never issued.
 *
 * @example
 * ```ts
 * import { tag, tagName } from "./allocator.ts";
 * console.log(tagName(tag("parser"))); // "parser"
 * ```
 */
export function tagName(id: number): string | null {
  let name = tagNames.get(id);
  if (name === undefined) {
    const address = native.custody_name(id, 0);
    name = address === 0 ? null : runtime.cString(address);
    tagNames.set(id, name);
  }
  return name;
}

/** The id of a tag given by name or id (0 for none). */
export function tagId(value: string | number | undefined): number {
  if (value === undefined) return 0;
  return typeof value === "number" ? checkU32(value, "Cannot allocate with that tag") : tag(value);
}

/**
 * Allocates `size` bytes from the tracked allocator and returns the address. JS owns the
 * block and must {@linkcode free} it; custody's higher layers do that for you.
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` for a bad size, alignment or tag, `OUT_OF_MEMORY` when memory is exhausted.
 *
 * @example
 * ```ts
 * import { blockSize, free, malloc } from "./allocator.ts";
 * const address = malloc(32, { zero: true, tag: "example" });
 * console.log(blockSize(address)); // 32
 * free(address);
 * ```
 */
export function malloc(size: number, options: MallocOptions = {}): number {
  const alignment = options.alignment ?? 16;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new CustodyError("INVALID_ARGUMENT", `Cannot allocate ${size} bytes: the size must be a non-negative integer`);
  }
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0 || alignment > 65536) {
    throw new CustodyError("INVALID_ARGUMENT", `Cannot allocate with alignment ${alignment}: it must be a power of two up to 65536`);
  }
  const id = tagId(options.tag);
  const address = options.zero
    ? native.custody_calloc_number(size, alignment, id)
    : native.custody_alloc_number(size, alignment, id);
  if (address === 0) throw new CustodyError("OUT_OF_MEMORY", `Cannot allocate ${size} bytes: native memory is exhausted`);
  return address;
}

/** What {@linkcode free} did. */
export type FreeOutcome = "freed" | "ignored_null" | "reported";

/**
 * Frees a block. A pointer that is not a live block is not freed: the misuse is counted,
 * recorded as a {@linkcode ViolationEvent}, and `"reported"` is returned. Nothing crashes;
 * only a value that cannot be an address at all throws (`INVALID_ARGUMENT`).
 *
 * @example A double free is reported, not fatal
 * ```ts
 * import { free, malloc } from "./allocator.ts";
 * const address = malloc(8);
 * console.log(free(address)); // "freed"
 * console.log(free(address)); // "reported"
 * ```
 */
export function free(address: number): FreeOutcome {
  const result = native.custody_free_checked(checkAddress(address, "Cannot free"));
  return result === 0 ? "freed" : result === 1 ? "ignored_null" : "reported";
}

/**
 * Resizes a block, keeping its contents, tag and alignment; the old address is freed.
 * Returns the new address, or 0 when `size` is 0 (the block is freed) or when the address
 * is not a live block (the misuse is reported).
 *
 * @example
 * ```ts
 * import { free, malloc, realloc } from "./allocator.ts";
 * const grown = realloc(malloc(8), 1024);
 * free(grown);
 * ```
 */
export function realloc(address: number, size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new CustodyError("INVALID_ARGUMENT", `Cannot resize to ${size} bytes: the size must be a non-negative integer`);
  }
  return native.custody_realloc(checkAddress(address, "Cannot resize"), size);
}

/**
 * The size of a live block, or undefined if `address` is not one.
 *
 * @example
 * ```ts
 * import { blockSize } from "./allocator.ts";
 * console.log(blockSize(0x1000)); // undefined
 * ```
 */
export function blockSize(address: number): number | undefined {
  const size = native.custody_block_size(checkAddress(address, "Cannot look up a block"));
  return size < 0 ? undefined : size;
}

/**
 * The current settings.
 *
 * @example
 * ```ts
 * import { config } from "./allocator.ts";
 * console.log(config().canarySize);
 * ```
 */
export function config(): AllocatorConfig {
  native.custody_alloc_config(outParameters.address);
  const raw = readStruct(outParameters.view, 0, configLayout);
  return {
    quarantineMaxCount: raw.quarantine_max_count,
    quarantineMaxBytes: raw.quarantine_max_bytes,
    canarySize: raw.canary_size,
    poison: raw.poison === 1,
  };
}

/**
 * Changes some settings and returns the settings now in force. Shrinking the quarantine
 * releases (and verifies) the blocks that no longer fit. A new canary size applies to
 * blocks allocated from now on.
 *
 * @throws {CustodyError} `INVALID_ARGUMENT` for a canary over 1024 bytes or negative numbers.
 *
 * @example Turning the quarantine off for a while
 * ```ts
 * import { config, configure } from "./allocator.ts";
 * const previous = config();
 * configure({ quarantineMaxCount: 0 });
 * // ...
 * configure(previous);
 * ```
 */
export function configure(changes: Partial<AllocatorConfig>): AllocatorConfig {
  const next = { ...config(), ...changes };
  for (const [name, value] of Object.entries(next)) {
    if (typeof value === "number" && (!Number.isSafeInteger(value) || value < 0)) {
      throw new CustodyError("INVALID_ARGUMENT", `Cannot configure the allocator: ${name} must be a non-negative integer`);
    }
  }
  const view = outParameters.view;
  writeField(view, 0, configLayout.fields.quarantine_max_count, next.quarantineMaxCount);
  writeField(view, 0, configLayout.fields.quarantine_max_bytes, next.quarantineMaxBytes);
  writeField(view, 0, configLayout.fields.canary_size, next.canarySize);
  writeField(view, 0, configLayout.fields.poison, next.poison ? 1 : 0);
  check(native.custody_alloc_configure(outParameters.address), "Cannot configure the allocator");
  return config();
}

/**
 * Verifies the guards of every live block and the poison of every quarantined block now,
 * rather than when they are freed. Returns how many violations it found.
 *
 * @example
 * ```ts
 * import { checkAll } from "./allocator.ts";
 * if (checkAll() > 0) console.log("memory was damaged");
 * ```
 */
export function checkAll(): number {
  return native.custody_check_all();
}

/**
 * Releases every quarantined block, verifying each on its way out.
 *
 * @example
 * ```ts
 * import { flushQuarantine } from "./allocator.ts";
 * flushQuarantine();
 * ```
 */
export function flushQuarantine(): void {
  native.custody_flush_quarantine();
}

/**
 * The sequence number the next block will get. Take it before a piece of work and pass it
 * to {@linkcode liveBlocks} afterwards to see what that work leaked.
 *
 * @example
 * ```ts
 * import { liveBlocks, nextSequence } from "./allocator.ts";
 * const start = nextSequence();
 * // ... work ...
 * console.log(liveBlocks(start).length);
 * ```
 */
export function nextSequence(): number {
  return native.custody_next_sequence();
}

const eventBatch = 64;
const eventBuffer = scratchBuffer(eventLayout.byteLength * eventBatch);
const kindNames = new Map<number, string>();
const detailNames = new Map<number, string>();

function nameFrom(cache: Map<number, string>, value: number, lookup: (value: number) => number): string {
  let name = cache.get(value);
  if (name === undefined) {
    name = runtime.cString(lookup(value));
    cache.set(value, name);
  }
  return name;
}

/**
 * The violations recorded after event `after` (0 for all that are still kept; the newest
 * 1024 are), oldest first.
 *
 * @example Reading what a double free reported
 * ```ts
 * import { events, free, malloc } from "./allocator.ts";
 * const address = malloc(24, { tag: "demo" });
 * free(address);
 * free(address);
 * const [event] = events().slice(-1);
 * console.log(event.kind, event.size, event.tag); // "double_free" 24 "demo"
 * ```
 */
export function events(after = 0): ViolationEvent[] {
  const out: ViolationEvent[] = [];
  let last = after;
  while (true) {
    const count = native.custody_events(last, eventBuffer.address, eventBatch);
    for (let i = 0; i < count; i++) {
      const raw = readStruct(eventBuffer.view, i * eventLayout.byteLength, eventLayout);
      out.push({
        id: raw.id,
        kind: nameFrom(kindNames, raw.kind, native.custody_event_kind_name) as ViolationKind,
        detail: nameFrom(detailNames, raw.detail, native.custody_event_detail_name) as ViolationDetail,
        address: raw.address,
        size: raw.size,
        sequence: raw.sequence,
        tag: tagName(raw.tag),
        related: raw.related,
      });
      last = raw.id;
    }
    if (count < eventBatch) return out;
  }
}

/**
 * Every block still allocated with sequence number >= `since`, in allocation order. With
 * `since` from {@linkcode nextSequence} this is a leak report for a piece of work.
 *
 * @example
 * ```ts
 * import { free, liveBlocks, malloc, nextSequence } from "./allocator.ts";
 * const start = nextSequence();
 * const address = malloc(100, { tag: "leaky" });
 * console.log(liveBlocks(start)); // [{ address, size: 100, alignment: 16, sequence, tag: "leaky" }]
 * free(address);
 * ```
 */
export function liveBlocks(since = 0): LiveBlock[] {
  let capacity = Math.max(16, native.custody_live_blocks(since, 0, 0));
  while (true) {
    const buffer = scratchBuffer(capacity * liveLayout.byteLength);
    const count = native.custody_live_blocks(since, buffer.address, capacity);
    if (count > capacity) {
      capacity = count * 2;
      continue;
    }
    const blocks: LiveBlock[] = [];
    for (let i = 0; i < count; i++) {
      const base = i * liveLayout.byteLength;
      const f = liveLayout.fields;
      blocks.push({
        address: readField(buffer.view, base, f.address),
        size: readField(buffer.view, base, f.size),
        alignment: readField(buffer.view, base, f.alignment),
        sequence: readField(buffer.view, base, f.sequence),
        tag: tagName(readField(buffer.view, base, f.tag)),
      });
    }
    return blocks.sort((a, b) => a.sequence - b.sequence);
  }
}
