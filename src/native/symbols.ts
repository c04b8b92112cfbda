/**
 * The C ABI of libcustody as data: one entry per exported function, in the runtime-neutral
 * vocabulary of `src/ffi/types.ts`. `zig/include/custody.h` documents each of them.
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
  custody_version: fn([], "u32"),
  custody_stats: fn([], "pointer"),
  custody_stats_layout: fn([], "pointer"),
  custody_event_layout: fn([], "pointer"),
  custody_live_record_layout: fn([], "pointer"),
  custody_config_layout: fn([], "pointer"),
  custody_info_layout: fn([], "pointer"),
  custody_status_name: fn(["i32"], "pointer"),
  custody_event_kind_name: fn(["u32"], "pointer"),
  custody_event_detail_name: fn(["u32"], "pointer"),

  custody_intern: fn(["pointer", "usize"], "i64"),
  custody_name: fn(["u32", "pointer"], "pointer"),
  custody_set_thread_tag: fn(["u32"], "u32"),

  custody_malloc: fn(["usize"], "pointer"),
  custody_calloc: fn(["usize", "usize"], "pointer"),
  custody_realloc: fn(["pointer", "usize"], "pointer"),
  custody_free: fn(["pointer"], "void"),
  custody_alloc_tagged: fn(["usize", "usize", "u32"], "pointer"),
  custody_calloc_tagged: fn(["usize", "usize", "u32"], "pointer"),
  custody_free_checked: fn(["pointer"], "i32"),
  custody_block_size: fn(["pointer"], "i64"),
  custody_alloc_configure: fn(["pointer"], "i32"),
  custody_alloc_config: fn(["pointer"], "void"),
  custody_check_all: fn([], "u64"),
  custody_flush_quarantine: fn([], "void"),
  custody_next_sequence: fn([], "u64"),
  custody_live_blocks: fn(["u64", "pointer", "usize"], "usize"),
  custody_events: fn(["u64", "pointer", "usize"], "usize"),

  custody_symbol_address: fn(["pointer", "pointer"], "usize"),

  custody_registry_init: fn(["u32"], "i32"),
  custody_registry_capacity: fn([], "u32"),
  custody_generations: fn([], "pointer"),
  custody_capsule_create: fn(["pointer", "u32", "function", "pointer", "u32", "u32", "pointer"], "i32"),
  custody_capsule_register: fn(["pointer", "u32", "function", "pointer", "u32", "pointer"], "i32"),
  custody_capsule_pointer: fn(["u32", "u32", "u32", "pointer"], "i32"),
  custody_capsule_info: fn(["u32", "u32", "pointer"], "i32"),
  custody_capsule_children: fn(["u32", "u32", "pointer", "u32"], "i64"),
  custody_capsule_find: fn(["pointer", "u32", "pointer"], "i32"),
  custody_capsule_enumerate: fn(["pointer", "u32"], "u32"),
  custody_capsule_set_owner: fn(["u32", "u32", "u32"], "i32"),
  custody_capsule_set_destructor: fn(["u32", "u32", "function", "pointer"], "i32"),
  custody_capsule_set_parent: fn(["u32", "u32", "u32", "u32"], "i32"),
  custody_capsule_keep_alive: fn(["u32", "u32"], "i32"),
  custody_capsule_drop_keep_alive: fn(["u32", "u32"], "i32"),
  custody_capsule_destroy: fn(["u32", "u32"], "i32"),
  custody_notify_destroyed: fn(["u32", "u32"], "i32"),
  custody_notify_destroyed_address: fn(["pointer"], "i32"),
} as const satisfies Record<string, SymbolSpec>;
