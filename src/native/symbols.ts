/**
 * The C ABI of libcustody as data: one entry per exported function, in the runtime-neutral
 * vocabulary of `src/ffi/types.ts`. `zig/include/custody.h` documents each of them.
 * Addresses are `usize` where custody's callers hold them as numbers; the hot allocation and
 * registration paths take them as doubles (`*_number`) or as runtime pointers
 * (`nativePointer`), which cross without a BigInt on Deno.
 *
 * @module
 */
import type { SymbolSpec } from "../ffi/types.ts";

const fn = <const P extends readonly SymbolSpec["parameters"][number][], const R extends SymbolSpec["result"]>(
  parameters: P,
  result: R,
) => ({ parameters, result }) as const;

/** Every libcustody export custody's TypeScript side calls. */
export const custodySymbols = {
  custody_stats: fn([], "usize"),
  custody_stats_layout: fn([], "usize"),
  custody_event_layout: fn([], "usize"),
  custody_live_record_layout: fn([], "usize"),
  custody_config_layout: fn([], "usize"),
  custody_info_layout: fn([], "usize"),
  custody_status_name: fn(["i32"], "usize"),
  custody_event_kind_name: fn(["u32"], "usize"),
  custody_event_detail_name: fn(["u32"], "usize"),

  custody_intern: fn(["usize", "usize"], "i64"),
  custody_name: fn(["u32", "usize"], "usize"),

  custody_realloc: fn(["usize", "usize"], "usize"),
  // Doubles: no BigInt on Deno (see custody.h).
  custody_alloc_number: fn(["f64", "f64", "u32"], "f64"),
  custody_calloc_number: fn(["f64", "f64", "u32"], "f64"),
  custody_alloc_owned_number: fn(["f64", "f64", "u32", "u32", "u32", "u32", "nativePointer"], "f64"),
  custody_free_checked: fn(["usize"], "i32"),
  custody_block_size: fn(["usize"], "i64"),
  custody_block_tag: fn(["usize"], "i64"),
  custody_alloc_configure: fn(["usize"], "i32"),
  custody_alloc_config: fn(["usize"], "void"),
  custody_check_all: fn([], "u64"),
  custody_flush_quarantine: fn([], "void"),
  custody_next_sequence: fn([], "u64"),
  custody_live_blocks: fn(["u64", "usize", "usize"], "usize"),
  custody_events: fn(["u64", "usize", "usize"], "usize"),

  custody_symbol_address: fn(["usize", "usize"], "usize"),

  custody_registry_init: fn(["u32"], "i32"),
  custody_registry_capacity: fn([], "u32"),
  custody_generations: fn([], "usize"),
  custody_capsule_create: fn(["usize", "u32", "usize", "usize", "u32", "u32", "usize"], "i32"),
  // Runtime pointers: wrappers register the pointer a native call returned, unconverted.
  custody_capsule_register: fn(["nativePointer", "u32", "nativePointer", "nativePointer", "u32", "nativePointer"], "i32"),
  custody_capsule_register_number: fn(["f64", "u32", "f64", "f64", "u32", "nativePointer"], "i32"),
  custody_capsule_pointer: fn(["u32", "u32", "u32", "usize"], "i32"),
  custody_capsule_info: fn(["u32", "u32", "usize"], "i32"),
  custody_capsule_children: fn(["u32", "u32", "usize", "u32"], "i64"),
  custody_capsule_find: fn(["usize", "u32", "usize"], "i32"),
  custody_capsule_enumerate: fn(["usize", "u32"], "u32"),
  custody_capsule_set_owner: fn(["u32", "u32", "u32"], "i32"),
  custody_capsule_set_destructor: fn(["u32", "u32", "usize", "usize"], "i32"),
  custody_capsule_set_view: fn(["u32", "u32", "u32"], "i32"),
  custody_capsule_set_parent: fn(["u32", "u32", "u32", "u32"], "i32"),
  custody_capsule_keep_alive: fn(["u32", "u32"], "i32"),
  custody_capsule_drop_keep_alive: fn(["u32", "u32"], "i32"),
  custody_capsule_destroy: fn(["u32", "u32"], "i32"),
  custody_capsule_new: fn(["usize", "usize", "usize", "usize", "u32", "usize"], "i32"),
  custody_capsule_get: fn(["u32", "u32", "usize", "usize"], "i32"),
  custody_capsule_is_valid: fn(["u32", "u32", "usize"], "bool"),
  custody_capsule_consume: fn(["u32", "u32", "usize", "usize"], "i32"),
  custody_notify_destroyed: fn(["u32", "u32"], "i32"),
  custody_notify_destroyed_address: fn(["usize"], "i32"),

  custody_gate_open: fn(["usize", "u32", "usize"], "i32"),
  custody_gate_address: fn(["u32"], "usize"),
  custody_gate_close: fn(["u32"], "i32"),
  custody_gate_drain: fn([], "u32"),
  custody_gate_counters: fn([], "usize"),
  custody_gate_counters_layout: fn([], "usize"),
} as const satisfies Record<string, SymbolSpec>;
