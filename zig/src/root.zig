//! libcustody: the C ABI of the tracked allocator and the capsule registry.
//!
//! One process-wide instance of each lives here, so that JS (through Deno.dlopen or
//! bun:ffi) and native libraries linked against libcustody share the same tables: a block
//! allocated by a C library's allocator hook and freed from JS is one block, and an object
//! registered by JS can be reported destroyed by native code. `include/custody.h`
//! documents every function below for C, Zig and Rust callers.
//!
//! Conventions: functions that can fail return an `i32` status (0 or a negative
//! `Status`); handles are passed as two u32s (slot, generation) and returned through an
//! out pointer; no function panics or aborts on bad input.
const std = @import("std");
const layout = @import("layout.zig");
const Stats = @import("stats.zig").Stats;
const events = @import("events.zig");
const Status = @import("status.zig").Status;
const Names = @import("names.zig").Names;
const Lock = @import("lock.zig").Lock;
const tracked = @import("tracked_allocator.zig");
const registry_module = @import("registry.zig");
const symbol_address = @import("symbol_address.zig");
const callback_gate = @import("callback_gate.zig");
const Registry = registry_module.Registry;
const Handle = registry_module.Handle;
const Destructor = registry_module.Destructor;

pub const abi_version: u32 = 1;
pub const Config = tracked.Config;
/// Slots reserved when the registry is first used without `custody_registry_init`: about
/// 256 MiB of address space, committed by the OS only as slots are touched.
pub const default_capacity: u32 = 1 << 22;
const default_alignment = 16;

var stats: Stats = .{};
var tracker: tracked.Tracker = .init(std.heap.c_allocator, &stats);
var names: Names = .init(std.heap.c_allocator);
var registry: Registry = undefined;
var registry_ready = std.atomic.Value(bool).init(false);
var registry_init_guard: Lock = .{};
threadlocal var thread_tag: u32 = 0;
/// Set once any thread sets a tag. Until then malloc-shaped calls skip the thread-local
/// read, which in a shared library is a call to `__tls_get_addr` on every allocation.
var thread_tags_used = std.atomic.Value(bool).init(false);

fn currentTag() u32 {
    return if (thread_tags_used.load(.monotonic)) threadTag() else 0;
}

/// Kept out of line: inlined, LLVM hoists the TLS address lookup above the branch.
noinline fn threadTag() u32 {
    return thread_tag;
}

// ---- layouts, so JS reads structs by the offsets Zig computed ----

export fn custody_version() u32 {
    return abi_version;
}
pub export fn custody_stats() *Stats {
    return &stats;
}
export fn custody_stats_layout() [*:0]const u8 {
    return layout.describe(Stats);
}
export fn custody_event_layout() [*:0]const u8 {
    return layout.describe(events.Event);
}
export fn custody_live_record_layout() [*:0]const u8 {
    return layout.describe(tracked.LiveRecord);
}
export fn custody_config_layout() [*:0]const u8 {
    return layout.describe(tracked.Config);
}
export fn custody_gate_counters_layout() [*:0]const u8 {
    return layout.describe(callback_gate.Counters);
}
export fn custody_info_layout() [*:0]const u8 {
    return layout.describe(registry_module.Info);
}
export fn custody_status_name(status: i32) [*:0]const u8 {
    return Status.name(status);
}
/// "double_free" for kind 1, "unknown" for a kind that does not exist.
export fn custody_event_kind_name(kind: u32) [*:0]const u8 {
    return tagName(events.Kind, kind);
}
/// "interior_pointer" for detail 1, "unknown" for a detail that does not exist.
export fn custody_event_detail_name(detail: u32) [*:0]const u8 {
    return tagName(events.Detail, detail);
}

fn tagName(comptime E: type, value: u32) [*:0]const u8 {
    const info = @typeInfo(E).@"enum";
    inline for (info.field_names, info.field_values) |name, field_value| {
        if (field_value == value) return name;
    }
    return "unknown";
}

// ---- names and tags ----

/// Interns `len` bytes at `text`; returns the id (> 0), 0 for a null `text` (the null
/// name), or a negative status.
export fn custody_intern(text: ?[*]const u8, len: usize) i64 {
    const bytes = if (text) |t| t[0..len] else return if (len == 0) 0 else Status.null_pointer.code();
    const id = names.intern(bytes) catch |err| return Status.of(err).code();
    return id;
}
/// The text of an interned id, or null for id 0 and ids never issued.
export fn custody_name(id: u32, len: ?*usize) ?[*:0]const u8 {
    const text = names.text(id) orelse return null;
    if (len) |l| l.* = text.len;
    return text.ptr;
}
/// Sets the tag that malloc-shaped calls on this thread record; returns the previous one.
export fn custody_set_thread_tag(tag: u32) u32 {
    thread_tags_used.store(true, .monotonic);
    defer thread_tag = tag;
    return thread_tag;
}

// ---- tracked allocator ----

pub export fn custody_malloc(size: usize) ?*anyopaque {
    return tracker.alloc(size, default_alignment, currentTag());
}
export fn custody_calloc(count: usize, size: usize) ?*anyopaque {
    return tracker.calloc(count, size, default_alignment, currentTag());
}
export fn custody_realloc(pointer: ?*anyopaque, size: usize) ?*anyopaque {
    return tracker.realloc(pointer, size, currentTag());
}
pub export fn custody_free(pointer: ?*anyopaque) void {
    _ = tracker.free(pointer);
}
export fn custody_aligned_alloc(alignment: usize, size: usize) ?*anyopaque {
    return tracker.alloc(size, alignment, currentTag());
}
export fn custody_alloc_tagged(size: usize, alignment: usize, tag: u32) ?*anyopaque {
    return tracker.alloc(size, alignment, tag);
}
export fn custody_calloc_tagged(size: usize, alignment: usize, tag: u32) ?*anyopaque {
    return tracker.calloc(1, size, alignment, tag);
}
/// The tag a live block was allocated with, or -1 if `pointer` is not a live block.
export fn custody_block_tag(pointer: ?*const anyopaque) i64 {
    const found = tracker.tagOf(pointer) orelse return -1;
    return found;
}
/// `free` that says what happened: 0 freed, 1 null ignored, 2 the pointer was not a live
/// block and a violation was reported. (Damaged guards of a freed block are reported as
/// events too, and the block is still freed: 0.)
export fn custody_free_checked(pointer: ?*anyopaque) i32 {
    return switch (tracker.free(pointer)) {
        .freed => 0,
        .ignored_null => 1,
        .reported => 2,
    };
}
/// The size of a live block, or -1 if `pointer` is not one.
export fn custody_block_size(pointer: ?*const anyopaque) i64 {
    const size = tracker.sizeOf(pointer) orelse return -1;
    return @intCast(size);
}
pub export fn custody_alloc_configure(config: ?*const tracked.Config) i32 {
    tracker.configure((config orelse return Status.null_pointer.code()).*) catch |err| return Status.of(err).code();
    return 0;
}
pub export fn custody_alloc_config(out: ?*tracked.Config) void {
    if (out) |o| o.* = tracker.config;
}
export fn custody_check_all() u64 {
    return tracker.checkAll();
}
export fn custody_flush_quarantine() void {
    tracker.flushQuarantine();
}
export fn custody_next_sequence() u64 {
    return tracker.nextSequence();
}
/// Copies live blocks with sequence >= `min_sequence`; returns how many there are in all.
export fn custody_live_blocks(min_sequence: u64, out: ?[*]tracked.LiveRecord, max: usize) usize {
    return tracker.enumerateLive(min_sequence, if (out) |o| o[0..max] else &.{});
}
/// Copies events with id > `after`, oldest first; returns how many were copied.
export fn custody_events(after: u64, out: ?[*]events.Event, max: usize) usize {
    return tracker.copyEvents(after, if (out) |o| o[0..max] else &.{});
}

// ---- native functions ----

/// The address of function `name` in the already loaded library at `path` (both
/// NUL-terminated), or 0. For destructors the registry runs natively.
export fn custody_symbol_address(path: ?[*:0]const u8, name: ?[*:0]const u8) usize {
    return symbol_address.lookup(path orelse return 0, name orelse return 0) orelse 0;
}

// ---- capsule registry ----

fn theRegistry() error{OutOfMemory}!*Registry {
    if (registry_ready.load(.acquire)) return &registry;
    if (custody_registry_init(default_capacity) != 0 and !registry_ready.load(.acquire)) return error.OutOfMemory;
    return &registry;
}

fn statusOf(result: anyerror!void) i32 {
    result catch |err| return Status.of(err).code();
    return 0;
}

/// Sets the registry's fixed capacity. Only before the registry is first used; calling it
/// again with the same capacity is harmless, with another one returns ALREADY_INITIALIZED.
export fn custody_registry_init(capacity: u32) i32 {
    registry_init_guard.lock();
    defer registry_init_guard.unlock();
    if (registry_ready.load(.acquire)) {
        return if (registry.capacity() == capacity) 0 else Status.already_initialized.code();
    }
    if (capacity == 0 or capacity == std.math.maxInt(u32)) return Status.invalid_argument.code();
    registry = Registry.init(std.heap.c_allocator, &stats, .{ .capacity = capacity }) catch |err| return Status.of(err).code();
    registry_ready.store(true, .release);
    return 0;
}
export fn custody_registry_capacity() u32 {
    const r = theRegistry() catch return 0;
    return r.capacity();
}
/// The generation of every slot, `capacity + 1` u32s that never move. Odd means live.
export fn custody_generations() ?[*]u32 {
    const r = theRegistry() catch return null;
    return r.generations.ptr;
}

export fn custody_capsule_create(pointer: usize, type_name: u32, destructor: ?Destructor, context: ?*anyopaque, parent_slot: u32, parent_generation: u32, out: ?*Handle) i32 {
    const o = out orelse return Status.null_pointer.code();
    const r = theRegistry() catch |err| return Status.of(err).code();
    o.* = r.create(pointer, type_name, destructor, context, .{ .slot = parent_slot, .generation = parent_generation }) catch |err| return Status.of(err).code();
    return 0;
}
/// `custody_capsule_create` for a root entry with its owner code, unless a live entry for
/// `pointer` and `type_name` exists: then CUSTODY_ALREADY_REGISTERED, with that entry's
/// handle in `out`.
export fn custody_capsule_register(pointer: usize, type_name: u32, destructor: ?Destructor, context: ?*anyopaque, owner: u32, out: ?*Handle) i32 {
    const o = out orelse return Status.null_pointer.code();
    const r = theRegistry() catch |err| return Status.of(err).code();
    o.* = r.register(pointer, type_name, destructor, context, owner, o) catch |err| return Status.of(err).code();
    return 0;
}

// Entry points for JavaScript numbers. A JS number is a double; every address and size a
// process uses is below 2^53, so a double carries it exactly. Deno's FFI passes 64-bit
// integers as BigInt, and converting a number to a BigInt or back costs more than the call
// itself there (measured on Deno 2.9.6), so the hot allocation and registration paths take
// and return doubles. A double that is not a whole number in [0, 2^53] is refused, never
// converted.

/// The address or size a double holds, if it holds one exactly.
fn fromNumber(value: f64) ?usize {
    if (!(value >= 0 and value <= 9007199254740992.0)) return null; // also refuses NaN
    if (@floor(value) != value) return null;
    return @intFromFloat(value);
}

fn toNumber(pointer: ?*anyopaque) f64 {
    return @floatFromInt(@intFromPtr(pointer));
}

/// `custody_alloc_tagged` with the size, alignment and result as doubles; 0 on failure
/// (including a size or alignment that is not a whole number in range).
export fn custody_alloc_number(size: f64, alignment: f64, tag: u32) f64 {
    const n = fromNumber(size) orelse return 0;
    const a = fromNumber(alignment) orelse return 0;
    return toNumber(tracker.alloc(n, a, tag));
}
/// `custody_calloc_tagged` with doubles, as `custody_alloc_number`.
export fn custody_calloc_number(size: f64, alignment: f64, tag: u32) f64 {
    const n = fromNumber(size) orelse return 0;
    const a = fromNumber(alignment) orelse return 0;
    return toNumber(tracker.calloc(1, n, a, tag));
}
/// The memory API's `alloc` in one call: a tracked block (zeroed if `zero` is non-zero),
/// registered as a root entry named `type_name` with owner code `owner`, which frees the
/// block when it is destroyed. Returns the address and writes the handle to `out`; on failure
/// returns a negative status and nothing stays allocated or registered (`ALREADY_REGISTERED`
/// and `ALREADY_OWNED` tell the caller that an entry of another life still names the address).
export fn custody_alloc_owned_number(size: f64, alignment: f64, zero: u32, tag: u32, type_name: u32, owner: u32, out: ?*Handle) f64 {
    const o = out orelse return @floatFromInt(Status.null_pointer.code());
    const n = fromNumber(size) orelse return @floatFromInt(Status.invalid_argument.code());
    const a = fromNumber(alignment) orelse return @floatFromInt(Status.invalid_argument.code());
    const block = (if (zero != 0) tracker.calloc(1, n, a, tag) else tracker.alloc(n, a, tag)) orelse
        return @floatFromInt(Status.out_of_memory.code());
    // custody_free ignores the context argument a destructor is also passed.
    const status = custody_capsule_register(@intFromPtr(block), type_name, @ptrCast(&custody_free), null, owner, o);
    if (status != 0) {
        _ = tracker.free(block);
        return @floatFromInt(status);
    }
    return toNumber(block);
}
/// `custody_capsule_register` with the pointer, destructor and context as doubles.
export fn custody_capsule_register_number(pointer: f64, type_name: u32, destructor: f64, context: f64, owner: u32, out: ?*Handle) i32 {
    const p = fromNumber(pointer) orelse return Status.invalid_argument.code();
    const d = fromNumber(destructor) orelse return Status.invalid_argument.code();
    const c = fromNumber(context) orelse return Status.invalid_argument.code();
    return custody_capsule_register(p, type_name, @ptrFromInt(d), @ptrFromInt(c), owner, out);
}

export fn custody_capsule_pointer(slot: u32, generation: u32, type_name: u32, out: ?*usize) i32 {
    const o = out orelse return Status.null_pointer.code();
    const r = theRegistry() catch |err| return Status.of(err).code();
    o.* = r.pointerOf(.{ .slot = slot, .generation = generation }, type_name) catch |err| return Status.of(err).code();
    return 0;
}
export fn custody_capsule_info(slot: u32, generation: u32, out: ?*registry_module.Info) i32 {
    const o = out orelse return Status.null_pointer.code();
    const r = theRegistry() catch |err| return Status.of(err).code();
    o.* = r.info(.{ .slot = slot, .generation = generation }) catch |err| return Status.of(err).code();
    return 0;
}
/// Copies up to `max` child handles; returns how many children there are, or a status.
export fn custody_capsule_children(slot: u32, generation: u32, out: ?[*]Handle, max: u32) i64 {
    const r = theRegistry() catch |err| return Status.of(err).code();
    const count = r.children(.{ .slot = slot, .generation = generation }, if (out) |o| o[0..max] else &.{}) catch |err| return Status.of(err).code();
    return @intCast(count);
}
/// `type_name` 0xFFFFFFFF matches any type.
export fn custody_capsule_find(pointer: usize, type_name: u32, out: ?*Handle) i32 {
    const o = out orelse return Status.null_pointer.code();
    const r = theRegistry() catch |err| return Status.of(err).code();
    o.* = r.find(pointer, type_name) catch |err| return Status.of(err).code();
    return 0;
}
/// Copies up to `max` live handles; returns how many live entries there are.
export fn custody_capsule_enumerate(out: ?[*]Handle, max: u32) u32 {
    const r = theRegistry() catch return 0;
    return @intCast(r.enumerate(if (out) |o| o[0..max] else &.{}));
}
export fn custody_capsule_set_owner(slot: u32, generation: u32, owner: u32) i32 {
    const r = theRegistry() catch |err| return Status.of(err).code();
    return statusOf(r.setOwner(.{ .slot = slot, .generation = generation }, owner));
}
export fn custody_capsule_set_destructor(slot: u32, generation: u32, destructor: ?Destructor, context: ?*anyopaque) i32 {
    const r = theRegistry() catch |err| return Status.of(err).code();
    return statusOf(r.setDestructor(.{ .slot = slot, .generation = generation }, destructor, context));
}
/// `view` 1 makes the capsule a view (its destructor runs only when it is itself destroyed), 0 undoes it.
export fn custody_capsule_set_view(slot: u32, generation: u32, view: u32) i32 {
    const r = theRegistry() catch |err| return Status.of(err).code();
    if (view > 1) return Status.invalid_argument.code();
    return statusOf(r.setView(.{ .slot = slot, .generation = generation }, view == 1));
}
/// Parent (0, 0) detaches the child.
export fn custody_capsule_set_parent(slot: u32, generation: u32, parent_slot: u32, parent_generation: u32) i32 {
    const r = theRegistry() catch |err| return Status.of(err).code();
    return statusOf(r.setParent(.{ .slot = slot, .generation = generation }, .{ .slot = parent_slot, .generation = parent_generation }));
}
export fn custody_capsule_keep_alive(slot: u32, generation: u32) i32 {
    const r = theRegistry() catch |err| return Status.of(err).code();
    return statusOf(r.keepAlive(.{ .slot = slot, .generation = generation }));
}
export fn custody_capsule_drop_keep_alive(slot: u32, generation: u32) i32 {
    const r = theRegistry() catch |err| return Status.of(err).code();
    return statusOf(r.dropKeepAlive(.{ .slot = slot, .generation = generation }));
}
export fn custody_capsule_destroy(slot: u32, generation: u32) i32 {
    const r = theRegistry() catch |err| return Status.of(err).code();
    return statusOf(r.destroy(.{ .slot = slot, .generation = generation }));
}
export fn custody_notify_destroyed(slot: u32, generation: u32) i32 {
    const r = theRegistry() catch |err| return Status.of(err).code();
    return statusOf(r.notifyDestroyed(.{ .slot = slot, .generation = generation }));
}
// ---- capsules by name text, for native producers and consumers (PyCapsule's shape) ----

/// The id of a NUL-terminated name, or 0 for null. With `add` false an unknown name gives
/// null: it cannot match any capsule, and looking it up must not grow the name table.
fn nameId(name: ?[*:0]const u8, add: bool) error{ OutOfMemory, NameTooLong }!?u32 {
    const text = std.mem.span(name orelse return 0);
    if (add) return try names.intern(text);
    return names.find(text);
}

/// Registers a root capsule named by the text `name` (copied and interned, so the caller
/// may free it at once; NULL is the null name) with owner code `owner`.
export fn custody_capsule_new(pointer: usize, name: ?[*:0]const u8, destructor: ?Destructor, context: ?*anyopaque, owner: u32, out: ?*Handle) i32 {
    const o = out orelse return Status.null_pointer.code();
    const id = (nameId(name, true) catch |err| return Status.of(err).code()).?;
    const r = theRegistry() catch |err| return Status.of(err).code();
    const handle = r.create(pointer, id, destructor, context, .none) catch |err| return Status.of(err).code();
    r.setOwner(handle, owner) catch {};
    o.* = handle;
    return 0;
}
/// The interned id of `name` to look `handle` up with. A name never interned is the name of
/// no capsule: a mismatch, once the handle is known to be live (a stale one says so instead).
fn lookupName(r: *Registry, handle: Handle, name: ?[*:0]const u8) !u32 {
    return (try nameId(name, false)) orelse {
        _ = try r.info(handle);
        return error.NameMismatch;
    };
}

/// `PyCapsule_GetPointer`: the pointer if `name` matches exactly (NULL matches only NULL).
export fn custody_capsule_get(slot: u32, generation: u32, name: ?[*:0]const u8, out: ?*usize) i32 {
    const o = out orelse return Status.null_pointer.code();
    const r = theRegistry() catch |err| return Status.of(err).code();
    const handle: Handle = .{ .slot = slot, .generation = generation };
    const id = lookupName(r, handle, name) catch |err| return Status.of(err).code();
    o.* = r.pointerOf(handle, id) catch |err| return Status.of(err).code();
    return 0;
}
/// `PyCapsule_IsValid`: live and named exactly `name`. Never fails, counts nothing.
export fn custody_capsule_is_valid(slot: u32, generation: u32, name: ?[*:0]const u8) bool {
    const id = (nameId(name, false) catch return false) orelse return false;
    const r = theRegistry() catch return false;
    return r.isValid(.{ .slot = slot, .generation = generation }, id);
}
/// The consume-once hand-off by name text; see `custody_capsule_consume_id`.
export fn custody_capsule_consume(slot: u32, generation: u32, name: ?[*:0]const u8, out: ?*usize) i32 {
    const o = out orelse return Status.null_pointer.code();
    const r = theRegistry() catch |err| return Status.of(err).code();
    const handle: Handle = .{ .slot = slot, .generation = generation };
    const id = lookupName(r, handle, name) catch |err| return Status.of(err).code();
    o.* = r.consume(handle, id) catch |err| return Status.of(err).code();
    return 0;
}
/// If `type_name` is exactly the capsule's, writes its pointer to `out` and invalidates it
/// without running its destructor: the caller destroys the object from now on. A second
/// consumer gets CUSTODY_STALE_HANDLE.
export fn custody_capsule_consume_id(slot: u32, generation: u32, type_name: u32, out: ?*usize) i32 {
    const o = out orelse return Status.null_pointer.code();
    const r = theRegistry() catch |err| return Status.of(err).code();
    o.* = r.consume(.{ .slot = slot, .generation = generation }, type_name) catch |err| return Status.of(err).code();
    return 0;
}
/// The live capsule at `pointer` named exactly `name`.
export fn custody_capsule_lookup(pointer: usize, name: ?[*:0]const u8, out: ?*Handle) i32 {
    const o = out orelse return Status.null_pointer.code();
    const id = (nameId(name, false) catch |err| return Status.of(err).code()) orelse return Status.not_found.code();
    const r = theRegistry() catch |err| return Status.of(err).code();
    o.* = r.find(pointer, id) catch |err| return Status.of(err).code();
    return 0;
}

/// Returns how many entries lived at `pointer` (0 if none), or a status.
export fn custody_notify_destroyed_address(pointer: usize) i32 {
    const r = theRegistry() catch |err| return Status.of(err).code();
    const count = r.notifyDestroyedAddress(pointer) catch |err| return Status.of(err).code();
    return @intCast(count);
}

// ---- callback gates ----

/// Opens a thread-checking gate in front of `target` (a callback that may only run on the
/// calling thread): `mode` 0 refuses calls from other threads, 1 makes them wait for the
/// owner thread's next `custody_gate_drain`, 2 queues them and returns `fallback` at once.
/// Returns the gate's index, or a status (TABLE_FULL, INVALID_ARGUMENT).
export fn custody_gate_open(target: usize, mode: u32, fallback: usize) i32 {
    if (target == 0) return Status.null_pointer.code();
    const gate_mode: callback_gate.Mode = switch (mode) {
        0 => .refuse,
        1 => .wait,
        2 => .queue,
        else => return Status.invalid_argument.code(),
    };
    const index = callback_gate.open(@ptrFromInt(target), gate_mode, fallback) orelse return Status.table_full.code();
    return @intCast(index);
}
/// The address native code calls for gate `index`, or 0 for an index out of range.
export fn custody_gate_address(index: u32) usize {
    if (index >= callback_gate.capacity) return 0;
    return callback_gate.address(index);
}
/// Closes a gate the calling thread opened; calls queued to it get its fallback.
export fn custody_gate_close(index: u32) i32 {
    return statusOf(callback_gate.close(index));
}
/// Runs the calls queued for gates the calling thread owns; returns how many ran.
export fn custody_gate_drain() u32 {
    return callback_gate.drain();
}
/// The gates' counters (refused, queued, drained, stale, pending), at a fixed address.
export fn custody_gate_counters() *callback_gate.Counters {
    return &callback_gate.counters;
}

test {
    _ = @import("callback_gate.zig");
    _ = @import("lock.zig");
    _ = @import("address_map.zig");
    _ = @import("layout.zig");
    _ = @import("stats.zig");
    _ = @import("events.zig");
    _ = @import("status.zig");
    _ = @import("names.zig");
    _ = @import("tracked_allocator.zig");
    _ = @import("registry.zig");
    _ = @import("symbol_address.zig");
    _ = @import("model_test.zig");
}

test "capsules by name text: create, get, is_valid, lookup, consume once" {
    const Log = struct {
        var calls: usize = 0;
        fn destructor(_: ?*anyopaque, _: ?*anyopaque) callconv(.c) void {
            calls += 1;
        }
    };
    try std.testing.expectEqual(@as(i32, 0), custody_registry_init(1024));
    var name_buffer = "tensor.v1".*;
    var handle: Handle = undefined;
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_new(0x7000, &name_buffer, Log.destructor, null, 1, &handle));
    // The name was copied: changing the caller's buffer changes nothing.
    name_buffer[0] = 'X';
    var pointer: usize = 0;
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_get(handle.slot, handle.generation, "tensor.v1", &pointer));
    try std.testing.expectEqual(@as(usize, 0x7000), pointer);
    try std.testing.expectEqual(Status.name_mismatch.code(), custody_capsule_get(handle.slot, handle.generation, null, &pointer));
    try std.testing.expectEqual(Status.name_mismatch.code(), custody_capsule_get(handle.slot, handle.generation, "never interned name", &pointer));
    try std.testing.expect(custody_capsule_is_valid(handle.slot, handle.generation, "tensor.v1"));
    try std.testing.expect(!custody_capsule_is_valid(handle.slot, handle.generation, "tensor"));
    try std.testing.expect(!custody_capsule_is_valid(handle.slot, handle.generation, null));
    var found: Handle = undefined;
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_lookup(0x7000, "tensor.v1", &found));
    try std.testing.expectEqual(handle.slot, found.slot);
    try std.testing.expectEqual(Status.not_found.code(), custody_capsule_lookup(0x7000, "no such name here", &found));
    try std.testing.expectEqual(Status.name_mismatch.code(), custody_capsule_consume(handle.slot, handle.generation, "tensor", &pointer));
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_consume(handle.slot, handle.generation, "tensor.v1", &pointer));
    try std.testing.expectEqual(Status.stale_handle.code(), custody_capsule_consume(handle.slot, handle.generation, "tensor.v1", &pointer));
    try std.testing.expectEqual(Status.stale_handle.code(), custody_capsule_destroy(handle.slot, handle.generation));
    try std.testing.expect(!custody_capsule_is_valid(handle.slot, handle.generation, "tensor.v1"));
    try std.testing.expectEqual(@as(usize, 0), Log.calls);
    var unnamed: Handle = undefined;
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_new(0x7100, null, Log.destructor, null, 1, &unnamed));
    try std.testing.expect(custody_capsule_is_valid(unnamed.slot, unnamed.generation, null));
    try std.testing.expectEqual(Status.forged_handle.code(), custody_capsule_consume_id(unnamed.slot, unnamed.generation +% 2, 0, &pointer));
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_consume_id(unnamed.slot, unnamed.generation, 0, &pointer));
    try std.testing.expectEqual(@as(usize, 0x7100), pointer);
    try std.testing.expectEqual(@as(usize, 0), Log.calls);
}

test "number entry points refuse doubles that are not addresses, and round-trip those that are" {
    try std.testing.expectEqual(@as(f64, 0), custody_alloc_number(8.5, 16, 0));
    try std.testing.expectEqual(@as(f64, 0), custody_alloc_number(-8, 16, 0));
    try std.testing.expectEqual(@as(f64, 0), custody_alloc_number(std.math.nan(f64), 16, 0));
    try std.testing.expectEqual(@as(f64, 0), custody_calloc_number(8, 1e300, 0));
    const address = custody_calloc_number(24, 16, 0);
    try std.testing.expect(address != 0);
    const block: [*]u8 = @ptrFromInt(fromNumber(address).?);
    try std.testing.expectEqual(@as(u8, 0), block[23]);
    var handle: Handle = undefined;
    try std.testing.expectEqual(Status.invalid_argument.code(), custody_capsule_register_number(address + 0.5, 0, 0, 0, 1, &handle));
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_register_number(address, 0, 0, 0, 1, &handle));
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_destroy(handle.slot, handle.generation));
    custody_free(@ptrFromInt(fromNumber(address).?));
}

test "alloc_owned: one call allocates and registers; the entry's destroy frees the block" {
    _ = custody_registry_init(1024);
    var handle: Handle = undefined;
    try std.testing.expectEqual(@as(f64, @floatFromInt(Status.invalid_argument.code())), custody_alloc_owned_number(8.5, 16, 1, 0, 0, 1, &handle));
    try std.testing.expectEqual(@as(f64, @floatFromInt(Status.null_pointer.code())), custody_alloc_owned_number(8, 16, 1, 0, 0, 1, null));
    const live = stats.live_count;
    const address = custody_alloc_owned_number(24, 16, 1, 0, 9, 1, &handle);
    try std.testing.expect(address > 0);
    try std.testing.expectEqual(live + 1, stats.live_count);
    const block: [*]u8 = @ptrFromInt(fromNumber(address).?);
    try std.testing.expectEqual(@as(u8, 0), block[23]);
    var found: Handle = undefined;
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_find(fromNumber(address).?, 9, &found));
    try std.testing.expectEqual(handle, found);
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_destroy(handle.slot, handle.generation));
    try std.testing.expectEqual(live, stats.live_count);
}

test "the exported functions share one allocator and one registry" {
    const before = stats.live_count;
    const p = custody_malloc(10).?;
    try std.testing.expectEqual(before + 1, stats.live_count);
    try std.testing.expectEqual(@as(i64, 10), custody_block_size(p));
    try std.testing.expectEqual(@as(i32, 0), custody_free_checked(p));
    try std.testing.expectEqual(@as(i32, 2), custody_free_checked(p));
    try std.testing.expectEqual(@as(i32, 0), custody_registry_init(1024));
    try std.testing.expectEqual(Status.already_initialized.code(), custody_registry_init(2048));
    const tag = custody_intern("widget", 6);
    try std.testing.expect(tag > 0);
    var handle: Handle = undefined;
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_create(0x40, @intCast(tag), null, null, 0, 0, &handle));
    try std.testing.expectEqual(handle.generation, custody_generations().?[handle.slot]);
    try std.testing.expectEqual(@as(i32, 0), custody_capsule_destroy(handle.slot, handle.generation));
    try std.testing.expectEqual(Status.stale_handle.code(), custody_capsule_destroy(handle.slot, handle.generation));
    try std.testing.expectEqualStrings("STALE_HANDLE", std.mem.span(custody_status_name(Status.stale_handle.code())));
    try std.testing.expectEqual(Status.null_pointer.code(), custody_capsule_create(0, 0, null, null, 0, 0, &handle));
}
