//! The capsule registry: the table of native objects custody knows about.
//!
//! A handle is a (slot, generation) pair of u32s, so it crosses the FFI boundary as two
//! plain integers (no BigInt). A slot's generation is odd while an object lives in it and
//! even once the object is gone, so "is this handle valid" is one compare of the handle's
//! generation with the slot's. The generation array has a fixed capacity, is allocated
//! once and never moves, so JS maps it as a Uint32Array and performs that compare without
//! a call. The JS check is advisory; every function here re-validates under the lock.
//!
//! Slots are reused first-in-first-out, which keeps a freed slot unused for as long as
//! possible, and a slot whose generation would wrap is retired for good, so a stale handle
//! can never alias a newer object even when the native address is reused (the address
//! reuse bug pybind11 and nanobind hit).
//!
//! Destroying an entry destroys its subtree: the generations of every descendant and then
//! of the entry itself are published dead (children before parents), and only then, with
//! the lock released, are the destructors run in the same order, each exactly once. A
//! destructor may therefore call back into the registry. An entry with keep-alives is
//! invalidated at once but its destructor waits until the last keep-alive is dropped.
//!
//! The registry holds no ownership policy: whether a child's destructor runs when its
//! parent dies is decided by whether the binding gave it one, and whether it made the child a
//! view. A view's destructor runs only when the view itself is destroyed, never when it goes
//! down with an ancestor: a view of its parent's memory (a capsule over a block) must not be
//! handed memory that may already be gone when the parent's end takes it along.
const std = @import("std");
const Lock = @import("lock.zig").Lock;
const Stats = @import("stats.zig").Stats;
const AddressMap = @import("address_map.zig").AddressMap;

pub const Handle = extern struct {
    slot: u32,
    generation: u32,

    pub const none: Handle = .{ .slot = 0, .generation = 0 };
};

pub const Destructor = *const fn (pointer: ?*anyopaque, context: ?*anyopaque) callconv(.c) void;

/// Matches any type name in `find`.
pub const any_type: u32 = std.math.maxInt(u32);

/// The largest generation a live entry can have; one more is dead, after which the slot is retired.
pub const default_max_generation: u32 = std.math.maxInt(u32) - 2;

pub const Error = error{
    StaleHandle,
    ForgedHandle,
    NameMismatch,
    Cycle,
    TableFull,
    NullPointer,
    OutOfMemory,
    NotFound,
    NotKeptAlive,
    AlreadyRegistered,
    AlreadyOwned,
};

/// What `info` tells about a live entry. JS reads it by the offsets `layout.describe` gives.
pub const Info = extern struct {
    pointer: u64,
    destructor: u64,
    context: u64,
    type_name: u32,
    owner: u32,
    parent: Handle,
    child_count: u32,
    keep_alive: u32,
};

const Entry = struct {
    pointer: usize = 0,
    destructor: ?Destructor = null,
    context: ?*anyopaque = null,
    type_name: u32 = 0,
    owner: u32 = 0,
    parent: u32 = 0,
    first_child: u32 = 0,
    next_sibling: u32 = 0,
    prev_sibling: u32 = 0,
    child_count: u32 = 0,
    next_same_address: u32 = 0,
    /// In one word with the count, the view flag keeps an entry at 64 bytes, one cache line:
    /// a separate bool made it 72, and an owned create and release through Deno 7 ns slower.
    holds: packed struct(u32) {
        keep_alive: u31 = 0,
        /// Its destructor runs only when it is the root of a destroy (see the top of this file).
        view: bool = false,
    } = .{},
    /// While destruction waits for keep-alives: the generation the entry had when it lived.
    pending_generation: u32 = 0,

    comptime {
        std.debug.assert(@sizeOf(Entry) == 64);
    }
};

const DueDestructor = struct { destructor: Destructor, pointer: usize, context: ?*anyopaque };

pub const Registry = struct {
    gpa: std.mem.Allocator,
    stats: *Stats,
    guard: Lock = .{},
    /// Index 0 is never issued, so the zero handle is the null handle.
    generations: []u32,
    entries: []Entry,
    /// Highest slot ever issued.
    issued: u32 = 0,
    max_generation: u32,
    free_slots: std.Deque(u32) = .empty,
    by_address: AddressMap(u32) = .empty,
    /// Reused by subtree walks, always under the lock.
    walk: std.ArrayList(u32) = .empty,

    pub const Options = struct {
        capacity: u32,
        max_generation: u32 = default_max_generation,
    };

    /// `generations` and `entries` come from the page allocator: reserved once at full
    /// capacity, committed by the OS only as slots are touched, never moved.
    pub fn init(gpa: std.mem.Allocator, stats: *Stats, options: Options) error{OutOfMemory}!Registry {
        std.debug.assert(options.max_generation & 1 == 1);
        const generations = try std.heap.page_allocator.alloc(u32, @as(usize, options.capacity) + 1);
        errdefer std.heap.page_allocator.free(generations);
        @memset(generations[0..1], 0);
        const entries = try std.heap.page_allocator.alloc(Entry, @as(usize, options.capacity) + 1);
        return .{ .gpa = gpa, .stats = stats, .generations = generations, .entries = entries, .max_generation = options.max_generation };
    }

    pub fn deinit(self: *Registry) void {
        std.heap.page_allocator.free(self.generations);
        std.heap.page_allocator.free(self.entries);
        self.free_slots.deinit(self.gpa);
        self.by_address.deinit(self.gpa);
        self.walk.deinit(self.gpa);
    }

    pub fn capacity(self: *const Registry) u32 {
        return @intCast(self.generations.len - 1);
    }

    pub fn create(self: *Registry, pointer: usize, type_name: u32, destructor: ?Destructor, context: ?*anyopaque, parent: Handle) Error!Handle {
        if (pointer == 0) return error.NullPointer;
        self.guard.lock();
        defer self.guard.unlock();
        const parent_slot = if (parent.slot == 0) 0 else (try self.validate(parent)).slot;
        return self.createLocked(pointer, type_name, destructor, context, parent_slot, 0);
    }

    fn createLocked(self: *Registry, pointer: usize, type_name: u32, destructor: ?Destructor, context: ?*anyopaque, parent_slot: u32, owner: u32) Error!Handle {
        return self.createAt(try self.by_address.getOrPut(self.gpa, pointer), pointer, type_name, destructor, context, parent_slot, owner);
    }

    /// Makes the entry, the newest of those at `pointer`; `head` is the address's place in the
    /// address map, from the caller's probe. Without a free slot, an address the probe added
    /// leaves the map again: a refused create changes nothing. Inline: `register` runs it on
    /// every new wrapper's path, and as a call it made register+destroy 8 ns slower natively.
    inline fn createAt(self: *Registry, head: AddressMap(u32).GetOrPut, pointer: usize, type_name: u32, destructor: ?Destructor, context: ?*anyopaque, parent_slot: u32, owner: u32) Error!Handle {
        const slot = self.takeSlot() catch |err| {
            if (!head.found_existing) _ = self.by_address.fetchRemove(pointer);
            return err;
        };
        self.entries[slot] = .{
            .pointer = pointer,
            .destructor = destructor,
            .context = context,
            .type_name = type_name,
            .owner = owner,
            .next_same_address = if (head.found_existing) head.value_ptr.* else 0,
        };
        head.value_ptr.* = slot;
        if (parent_slot != 0) self.link(slot, parent_slot);

        const generation = self.generations[slot] + 1;
        @atomicStore(u32, &self.generations[slot], generation, .release);
        const s = self.stats;
        s.capsules_created += 1;
        s.capsules_live += 1;
        s.capsules_peak = @max(s.capsules_peak, s.capsules_live);
        return .{ .slot = slot, .generation = generation };
    }

    /// A slot for a new entry: the oldest free one, else a never issued one.
    fn takeSlot(self: *Registry) Error!u32 {
        if (self.free_slots.popFront()) |reused| return reused;
        if (self.issued == self.capacity()) {
            self.stats.table_full += 1;
            return error.TableFull;
        }
        self.issued += 1;
        self.generations[self.issued] = 0;
        return self.issued;
    }

    /// `create` for a root entry with its owner code, unless a live entry for `pointer` and
    /// `type_name` exists: then `error.AlreadyRegistered`, and `existing` holds its handle.
    /// One call, under one lock, where a binding would otherwise make three (find, create,
    /// set owner).
    pub fn register(self: *Registry, pointer: usize, type_name: u32, destructor: ?Destructor, context: ?*anyopaque, owner: u32, existing: *Handle) Error!Handle {
        if (pointer == 0) return error.NullPointer;
        self.guard.lock();
        defer self.guard.unlock();
        // One probe of the address map finds the entries at the address, or makes its place.
        const head = try self.by_address.getOrPut(self.gpa, pointer);
        if (head.found_existing) {
            var same = head.value_ptr.*;
            var owned_by: u32 = 0;
            while (same != 0) : (same = self.entries[same].next_same_address) {
                if (self.entries[same].type_name == type_name) {
                    existing.* = self.handleOf(same);
                    return error.AlreadyRegistered;
                }
                if (self.entries[same].destructor != null) owned_by = same;
            }
            // Two entries that each destroy the same memory (a type and its first member,
            // both owned) would destroy it twice: one owner per address.
            if (owned_by != 0 and destructor != null) {
                existing.* = self.handleOf(owned_by);
                return error.AlreadyOwned;
            }
        }
        return self.createAt(head, pointer, type_name, destructor, context, 0, owner);
    }

    /// The entry's pointer, if `type_name` is exactly the name it was created with.
    pub fn pointerOf(self: *Registry, handle: Handle, type_name: u32) Error!usize {
        self.guard.lock();
        defer self.guard.unlock();
        const entry = try self.validate(handle);
        if (entry.entry.type_name != type_name) {
            self.stats.name_mismatches += 1;
            return error.NameMismatch;
        }
        return entry.entry.pointer;
    }

    pub fn info(self: *Registry, handle: Handle) Error!Info {
        self.guard.lock();
        defer self.guard.unlock();
        const e = (try self.validate(handle)).entry;
        return .{
            .pointer = e.pointer,
            .destructor = if (e.destructor) |d| @intFromPtr(d) else 0,
            .context = @intFromPtr(e.context),
            .type_name = e.type_name,
            .owner = e.owner,
            .parent = self.handleOf(e.parent),
            .child_count = e.child_count,
            .keep_alive = e.holds.keep_alive,
        };
    }

    /// Copies the handles of the direct children into `out`; returns how many there are.
    pub fn children(self: *Registry, handle: Handle, out: []Handle) Error!usize {
        self.guard.lock();
        defer self.guard.unlock();
        var child = (try self.validate(handle)).entry.first_child;
        var count: usize = 0;
        while (child != 0) : (child = self.entries[child].next_sibling) {
            if (count < out.len) out[count] = self.handleOf(child);
            count += 1;
        }
        return count;
    }

    /// The live entry for `pointer` with `type_name` (or any type, with `any_type`).
    pub fn find(self: *Registry, pointer: usize, type_name: u32) Error!Handle {
        self.guard.lock();
        defer self.guard.unlock();
        var slot = self.by_address.get(pointer) orelse return error.NotFound;
        while (slot != 0) : (slot = self.entries[slot].next_same_address) {
            if (type_name == any_type or self.entries[slot].type_name == type_name) return self.handleOf(slot);
        }
        return error.NotFound;
    }

    /// Copies the handles of every live entry into `out`; returns how many there are.
    pub fn enumerate(self: *Registry, out: []Handle) usize {
        self.guard.lock();
        defer self.guard.unlock();
        var count: usize = 0;
        for (1..@as(usize, self.issued) + 1) |slot| {
            const generation = self.generations[slot];
            if (generation & 1 == 0) continue;
            if (count < out.len) out[count] = .{ .slot = @intCast(slot), .generation = generation };
            count += 1;
        }
        return count;
    }

    pub fn setOwner(self: *Registry, handle: Handle, owner: u32) Error!void {
        self.guard.lock();
        defer self.guard.unlock();
        (try self.validate(handle)).entry.owner = owner;
    }

    pub fn setDestructor(self: *Registry, handle: Handle, destructor: ?Destructor, context: ?*anyopaque) Error!void {
        self.guard.lock();
        defer self.guard.unlock();
        const e = (try self.validate(handle)).entry;
        e.destructor = destructor;
        e.context = context;
    }

    /// Makes the entry a view, or no longer one: a view's destructor runs only when the view
    /// itself is destroyed, not when an ancestor's destroy takes it along.
    pub fn setView(self: *Registry, handle: Handle, view: bool) Error!void {
        self.guard.lock();
        defer self.guard.unlock();
        (try self.validate(handle)).entry.holds.view = view;
    }

    /// Makes `child` a child of `parent`, moving it from any previous parent. `Handle.none`
    /// as the parent detaches it. Adding to the current parent changes nothing; a parent
    /// that is the child itself or one of its descendants is refused.
    pub fn setParent(self: *Registry, child: Handle, parent: Handle) Error!void {
        self.guard.lock();
        defer self.guard.unlock();
        const c = try self.validate(child);
        if (parent.slot == 0) {
            self.unlink(c.slot);
            return;
        }
        const p = try self.validate(parent);
        if (c.entry.parent == p.slot) return;
        var ancestor = p.slot;
        while (ancestor != 0) : (ancestor = self.entries[ancestor].parent) {
            if (ancestor == c.slot) {
                self.stats.cycles_refused += 1;
                return error.Cycle;
            }
        }
        self.unlink(c.slot);
        self.link(c.slot, p.slot);
    }

    pub fn keepAlive(self: *Registry, handle: Handle) Error!void {
        self.guard.lock();
        defer self.guard.unlock();
        (try self.validate(handle)).entry.holds.keep_alive += 1;
    }

    /// Drops one keep-alive taken with `handle`. When the entry was destroyed meanwhile and
    /// this was the last keep-alive, its destructor runs now.
    pub fn dropKeepAlive(self: *Registry, handle: Handle) Error!void {
        const due = blk: {
            self.guard.lock();
            defer self.guard.unlock();
            // A pending entry's generation is a live (odd, non-zero) one; without that check
            // (slot, 0) would match every slot whose live generation is 1.
            const pending = self.entries[handle.slot].pending_generation;
            if (handle.slot != 0 and handle.slot <= self.issued and pending != 0 and pending == handle.generation and
                self.generations[handle.slot] == handle.generation +% 1)
            {
                const e = &self.entries[handle.slot];
                // destroy() reserved queue room for this slot, but later destroys may have used it.
                if (e.holds.keep_alive == 1) try self.free_slots.ensureUnusedCapacity(self.gpa, 1);
                e.holds.keep_alive -= 1;
                if (e.holds.keep_alive > 0) return;
                const due: ?DueDestructor = if (e.destructor) |d| .{ .destructor = d, .pointer = e.pointer, .context = e.context } else null;
                e.pending_generation = 0;
                self.recycle(handle.slot);
                if (due != null) self.stats.destructors_run += 1;
                break :blk due;
            }
            const e = (try self.validate(handle)).entry;
            if (e.holds.keep_alive == 0) return error.NotKeptAlive;
            e.holds.keep_alive -= 1;
            return;
        };
        if (due) |d| runDestructors(&.{d});
    }

    /// Destroys the entry and its subtree and runs their destructors.
    pub fn destroy(self: *Registry, handle: Handle) Error!void {
        return self.destroyTree(handle, true, null);
    }

    /// The consume-once hand-off (PyCapsule's and DLPack's): if `type_name` is exactly the
    /// entry's name, returns its pointer and invalidates the entry without running its
    /// destructor (the consumer destroys the object now; descendants' destructors run).
    /// Name check and invalidation happen under one lock, so of two racing consumers
    /// exactly one gets the pointer and the other a stale handle.
    pub fn consume(self: *Registry, handle: Handle, type_name: u32) Error!usize {
        var pointer: usize = 0;
        try self.destroyTree(handle, false, .{ .type_name = type_name, .pointer = &pointer });
        return pointer;
    }

    /// Whether `handle` is live and named exactly `type_name`. Counts nothing and never
    /// fails, like `PyCapsule_IsValid`.
    pub fn isValid(self: *Registry, handle: Handle, type_name: u32) bool {
        self.guard.lock();
        defer self.guard.unlock();
        if (handle.slot == 0 or handle.slot > self.issued) return false;
        const current = self.generations[handle.slot];
        return handle.generation == current and current & 1 == 1 and self.entries[handle.slot].type_name == type_name;
    }

    /// Native code destroyed the object itself: invalidate the entry and its subtree, and run
    /// the destructors of the descendants but not of the entry.
    pub fn notifyDestroyed(self: *Registry, handle: Handle) Error!void {
        try self.destroyTree(handle, false, null);
        _ = @atomicRmw(u64, &self.stats.capsules_notified, .Add, 1, .monotonic);
    }

    /// `notifyDestroyed` for every live entry at `pointer`, whatever its type. Returns how many.
    /// Deepest entries go first, so that an entry at the same address as one of its ancestors
    /// (a struct's first member) is notified itself rather than destroyed as a descendant.
    pub fn notifyDestroyedAddress(self: *Registry, pointer: usize) Error!u32 {
        var count: u32 = 0;
        while (true) {
            const handle = self.deepestAt(pointer) orelse return count;
            self.notifyDestroyed(handle) catch |err| switch (err) {
                // Another thread destroyed it between the lookup and now.
                error.StaleHandle => continue,
                else => return err,
            };
            count += 1;
        }
    }

    fn deepestAt(self: *Registry, pointer: usize) ?Handle {
        self.guard.lock();
        defer self.guard.unlock();
        var best: u32 = 0;
        var best_depth: usize = 0;
        var slot = self.by_address.get(pointer) orelse return null;
        while (slot != 0) : (slot = self.entries[slot].next_same_address) {
            var depth: usize = 0;
            var ancestor = self.entries[slot].parent;
            while (ancestor != 0) : (ancestor = self.entries[ancestor].parent) depth += 1;
            if (best == 0 or depth > best_depth) {
                best = slot;
                best_depth = depth;
            }
        }
        return self.handleOf(best);
    }

    const Consumer = struct { type_name: u32, pointer: *usize };

    fn destroyTree(self: *Registry, handle: Handle, run_root_destructor: bool, consumer: ?Consumer) Error!void {
        // Most destroys concern a handful of objects: no heap allocation for them.
        var small: [16]DueDestructor = undefined;
        var due: std.ArrayList(DueDestructor) = .initBuffer(&small);
        defer if (due.items.ptr != &small) due.deinit(self.gpa);
        {
            self.guard.lock();
            defer self.guard.unlock();
            const root = (try self.validate(handle)).slot;
            if (consumer) |c| {
                if (self.entries[root].type_name != c.type_name) {
                    self.stats.name_mismatches += 1;
                    return error.NameMismatch;
                }
                c.pointer.* = self.entries[root].pointer;
            }
            // A leaf, the common case, is its own subtree: no walk.
            const leaf = [1]u32{root};
            const subtree: []const u32 = if (self.entries[root].first_child == 0) &leaf else walked: {
                self.walk.clearRetainingCapacity();
                try self.collectPostOrder(root);
                break :walked self.walk.items;
            };
            // Reserve everything before the first change, so running out of memory changes nothing.
            if (subtree.len > small.len) {
                due = .empty;
                try due.ensureTotalCapacity(self.gpa, subtree.len);
            }
            try self.free_slots.ensureUnusedCapacity(self.gpa, subtree.len);

            self.unlink(root);
            const s = self.stats;
            for (subtree) |slot| {
                const e = &self.entries[slot];
                const live_generation = self.generations[slot];
                @atomicStore(u32, &self.generations[slot], live_generation + 1, .release);
                self.removeAddress(slot);
                e.parent = 0;
                e.first_child = 0;
                e.child_count = 0;
                const runs = if (slot == root) run_root_destructor else !e.holds.view;
                if (e.holds.keep_alive > 0) {
                    e.pending_generation = live_generation;
                    if (!runs) e.destructor = null;
                    s.destructors_deferred += 1;
                    continue;
                }
                if (runs) if (e.destructor) |d| due.appendAssumeCapacity(.{ .destructor = d, .pointer = e.pointer, .context = e.context });
                self.recycle(slot);
            }
            s.capsules_live -= subtree.len;
            s.capsules_destroyed += subtree.len;
            // Counted as they become due, under the lock: no atomic add after they ran.
            s.destructors_run += due.items.len;
        }
        runDestructors(due.items);
    }

    fn runDestructors(due: []const DueDestructor) void {
        for (due) |d| d.destructor(@ptrFromInt(d.pointer), d.context);
    }

    // ---- internals; the caller holds the lock ----

    const Validated = struct { slot: u32, entry: *Entry };

    fn validate(self: *Registry, handle: Handle) Error!Validated {
        if (handle.slot == 0 or handle.slot > self.issued) {
            self.stats.forged_handles += 1;
            return error.ForgedHandle;
        }
        const current = self.generations[handle.slot];
        if (handle.generation == current and current & 1 == 1) return .{ .slot = handle.slot, .entry = &self.entries[handle.slot] };
        if (handle.generation & 1 == 0 or handle.generation > current) {
            self.stats.forged_handles += 1;
            return error.ForgedHandle;
        }
        self.stats.stale_handles += 1;
        return error.StaleHandle;
    }

    fn handleOf(self: *const Registry, slot: u32) Handle {
        return if (slot == 0) .none else .{ .slot = slot, .generation = self.generations[slot] };
    }

    /// A dead slot goes back to the queue, unless its next generation would pass the limit.
    fn recycle(self: *Registry, slot: u32) void {
        if (self.generations[slot] > self.max_generation) {
            self.stats.slots_retired += 1;
            return;
        }
        self.free_slots.pushBackAssumeCapacity(slot);
    }

    fn link(self: *Registry, child: u32, parent: u32) void {
        const p = &self.entries[parent];
        const c = &self.entries[child];
        c.parent = parent;
        c.prev_sibling = 0;
        c.next_sibling = p.first_child;
        if (p.first_child != 0) self.entries[p.first_child].prev_sibling = child;
        p.first_child = child;
        p.child_count += 1;
    }

    fn unlink(self: *Registry, child: u32) void {
        const c = &self.entries[child];
        if (c.parent == 0) return;
        const p = &self.entries[c.parent];
        if (c.prev_sibling != 0) self.entries[c.prev_sibling].next_sibling = c.next_sibling else p.first_child = c.next_sibling;
        if (c.next_sibling != 0) self.entries[c.next_sibling].prev_sibling = c.prev_sibling;
        p.child_count -= 1;
        c.parent = 0;
        c.next_sibling = 0;
        c.prev_sibling = 0;
    }

    fn removeAddress(self: *Registry, slot: u32) void {
        const pointer = self.entries[slot].pointer;
        const head = self.by_address.getPtr(pointer) orelse return;
        if (head.* == slot) {
            const next = self.entries[slot].next_same_address;
            if (next == 0) _ = self.by_address.remove(pointer) else head.* = next;
            return;
        }
        var previous = head.*;
        while (self.entries[previous].next_same_address != slot) previous = self.entries[previous].next_same_address;
        self.entries[previous].next_same_address = self.entries[slot].next_same_address;
    }

    /// Appends the subtree of `root` to `walk`, every child before its parent.
    fn collectPostOrder(self: *Registry, root: u32) error{OutOfMemory}!void {
        var node = root;
        while (true) {
            while (self.entries[node].first_child != 0) node = self.entries[node].first_child;
            while (true) {
                try self.walk.append(self.gpa, node);
                if (node == root) return;
                const next = self.entries[node].next_sibling;
                if (next != 0) {
                    node = next;
                    break;
                }
                node = self.entries[node].parent;
            }
        }
    }
};

// ---- tests ----

const testing = std.testing;

const Fixture = struct {
    stats: Stats = .{},
    registry: Registry = undefined,

    fn setUp(self: *Fixture, options: Registry.Options) !void {
        self.* = .{};
        self.registry = try .init(testing.allocator, &self.stats, options);
    }
};

/// Records destructor calls in order; the context is the recorder.
const Recorder = struct {
    calls: [64]usize = undefined,
    len: usize = 0,

    fn destructor(pointer: ?*anyopaque, context: ?*anyopaque) callconv(.c) void {
        const self: *Recorder = @ptrCast(@alignCast(context.?));
        self.calls[self.len] = @intFromPtr(pointer);
        self.len += 1;
    }

    fn seen(self: *const Recorder) []const usize {
        return self.calls[0..self.len];
    }
};

test "handles are generational: odd while live, stale after destroy, slots reused FIFO" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 8 });
    defer f.registry.deinit();
    const a = try f.registry.create(0x100, 1, null, null, .none);
    const b = try f.registry.create(0x200, 1, null, null, .none);
    try testing.expectEqual(@as(u32, 1), a.generation);
    try testing.expectEqual(a.generation, f.registry.generations[a.slot]);
    try f.registry.destroy(a);
    try f.registry.destroy(b);
    try testing.expectEqual(@as(u32, 2), f.registry.generations[a.slot]);
    try testing.expectError(error.StaleHandle, f.registry.pointerOf(a, 1));
    try testing.expectError(error.StaleHandle, f.registry.destroy(a));
    // The first slot freed is the first reused, with a new odd generation.
    const c = try f.registry.create(0x100, 1, null, null, .none);
    try testing.expectEqual(a.slot, c.slot);
    try testing.expectEqual(@as(u32, 3), c.generation);
    try testing.expectError(error.StaleHandle, f.registry.pointerOf(a, 1));
    try testing.expectEqual(@as(usize, 0x100), try f.registry.pointerOf(c, 1));
    try testing.expectEqual(@as(u64, 3), f.stats.stale_handles);
    try f.registry.destroy(c);
}

test "forged handles: never issued slot, even generation, future generation" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 8 });
    defer f.registry.deinit();
    const a = try f.registry.create(0x100, 0, null, null, .none);
    try testing.expectError(error.ForgedHandle, f.registry.destroy(.{ .slot = 5, .generation = 1 }));
    try testing.expectError(error.ForgedHandle, f.registry.destroy(.{ .slot = 0, .generation = 0 }));
    try testing.expectError(error.ForgedHandle, f.registry.destroy(.{ .slot = a.slot, .generation = 2 }));
    try testing.expectError(error.ForgedHandle, f.registry.destroy(.{ .slot = a.slot, .generation = 7 }));
    try testing.expectEqual(@as(u64, 4), f.stats.forged_handles);
    try f.registry.destroy(a);
}

test "address reuse: a new object at a freed address never revives the old handle" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 1 });
    defer f.registry.deinit();
    const old = try f.registry.create(0xABC0, 4, null, null, .none);
    try f.registry.notifyDestroyed(old);
    const new = try f.registry.create(0xABC0, 4, null, null, .none);
    try testing.expectEqual(old.slot, new.slot);
    try testing.expectError(error.StaleHandle, f.registry.info(old));
    try testing.expectEqual(new, try f.registry.find(0xABC0, 4));
    try f.registry.destroy(new);
}

test "a slot is retired instead of wrapping its generation" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 1, .max_generation = 5 });
    defer f.registry.deinit();
    for (0..3) |_| try f.registry.destroy(try f.registry.create(0x10, 0, null, null, .none));
    try testing.expectEqual(@as(u64, 1), f.stats.slots_retired);
    try testing.expectError(error.TableFull, f.registry.create(0x10, 0, null, null, .none));
    try testing.expectEqual(@as(u64, 1), f.stats.table_full);
}

test "names must match exactly; the null name matches only itself" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 4 });
    defer f.registry.deinit();
    const named = try f.registry.create(0x10, 3, null, null, .none);
    const unnamed = try f.registry.create(0x20, 0, null, null, .none);
    try testing.expectError(error.NameMismatch, f.registry.pointerOf(named, 0));
    try testing.expectError(error.NameMismatch, f.registry.pointerOf(named, 4));
    try testing.expectError(error.NameMismatch, f.registry.pointerOf(unnamed, 3));
    try testing.expectEqual(@as(usize, 0x20), try f.registry.pointerOf(unnamed, 0));
    try testing.expectError(error.NullPointer, f.registry.create(0, 3, null, null, .none));
    try testing.expectEqual(@as(u64, 3), f.stats.name_mismatches);
    try f.registry.destroy(named);
    try f.registry.destroy(unnamed);
}

test "consume hands the pointer off once: name checked, no destructor, a second consumer is refused" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 8 });
    defer f.registry.deinit();
    var recorder: Recorder = .{};
    const capsule = try f.registry.create(0x10, 5, Recorder.destructor, &recorder, .none);
    const part = try f.registry.create(0x20, 6, Recorder.destructor, &recorder, capsule);
    try testing.expect(f.registry.isValid(capsule, 5));
    try testing.expect(!f.registry.isValid(capsule, 0));
    try testing.expectError(error.NameMismatch, f.registry.consume(capsule, 4));
    try testing.expect(f.registry.isValid(capsule, 5));
    try testing.expectEqual(@as(usize, 0x10), try f.registry.consume(capsule, 5));
    try testing.expectError(error.StaleHandle, f.registry.consume(capsule, 5));
    try testing.expect(!f.registry.isValid(capsule, 5));
    try testing.expect(!f.registry.isValid(part, 6));
    try testing.expect(!f.registry.isValid(.{ .slot = 99, .generation = 1 }, 5));
    // Only the descendant's destructor ran: the consumer owns the capsule's object now.
    try testing.expectEqualSlices(usize, &.{0x20}, recorder.seen());
    const unnamed = try f.registry.create(0x30, 0, Recorder.destructor, &recorder, .none);
    try testing.expectError(error.NameMismatch, f.registry.consume(unnamed, 5));
    try testing.expectEqual(@as(usize, 0x30), try f.registry.consume(unnamed, 0));
    try testing.expectEqual(@as(usize, 1), recorder.len);
}

test "same address, different types: find tells them apart" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 4 });
    defer f.registry.deinit();
    const outer = try f.registry.create(0x500, 1, null, null, .none);
    const first_member = try f.registry.create(0x500, 2, null, null, outer);
    try testing.expectEqual(outer, try f.registry.find(0x500, 1));
    try testing.expectEqual(first_member, try f.registry.find(0x500, 2));
    try testing.expectError(error.NotFound, f.registry.find(0x500, 3));
    try testing.expectEqual(@as(u32, 2), try f.registry.notifyDestroyedAddress(0x500));
    try testing.expectError(error.NotFound, f.registry.find(0x500, any_type));
}

test "destroying a parent invalidates descendants first and runs destructors children first" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 16 });
    defer f.registry.deinit();
    var recorder: Recorder = .{};
    const d = Recorder.destructor;
    const root = try f.registry.create(1, 0, d, &recorder, .none);
    const a = try f.registry.create(2, 0, d, &recorder, root);
    const a1 = try f.registry.create(3, 0, d, &recorder, a);
    const a2 = try f.registry.create(4, 0, null, null, a); // destroyed natively by its parent
    const b = try f.registry.create(5, 0, d, &recorder, root);
    const outside = try f.registry.create(6, 0, d, &recorder, .none);
    try testing.expectEqual(@as(usize, 2), try f.registry.children(root, &.{}));
    try f.registry.destroy(root);
    for ([_]Handle{ root, a, a1, a2, b }) |h| try testing.expectError(error.StaleHandle, f.registry.info(h));
    // Each destructor ran once, every child before its parent.
    try testing.expectEqualSlices(usize, &.{ 5, 3, 2, 1 }, recorder.seen());
    try testing.expectEqual(@as(u64, 1), f.stats.capsules_live);
    try f.registry.destroy(outside);
    try testing.expectEqual(@as(u64, 5), f.stats.destructors_run);
}

test "a view's destructor runs when the view is destroyed, never when an ancestor takes it along" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 16 });
    defer f.registry.deinit();
    var recorder: Recorder = .{};
    const d = Recorder.destructor;
    // Destroyed itself, a view runs its destructor like any entry.
    const block = try f.registry.create(1, 0, d, &recorder, .none);
    const alone = try f.registry.create(2, 0, d, &recorder, block);
    try f.registry.setView(alone, true);
    try f.registry.destroy(alone);
    try testing.expectEqualSlices(usize, &.{2}, recorder.seen());
    // Taken along by its parent (destroyed or notified) or a grandparent: not run, even
    // when a keep-alive defers the end; a plain sibling's destructor still runs.
    const view = try f.registry.create(3, 0, d, &recorder, block);
    const plain = try f.registry.create(4, 0, d, &recorder, block);
    const kept = try f.registry.create(5, 0, d, &recorder, plain);
    try f.registry.setView(view, true);
    try f.registry.setView(kept, true);
    try f.registry.keepAlive(kept);
    try f.registry.destroy(block);
    try f.registry.dropKeepAlive(kept);
    try testing.expectEqualSlices(usize, &.{ 2, 4, 1 }, recorder.seen());
    const notified = try f.registry.create(6, 0, d, &recorder, .none);
    const under_notified = try f.registry.create(7, 0, d, &recorder, notified);
    try f.registry.setView(under_notified, true);
    try f.registry.notifyDestroyed(notified);
    // No longer a view: taken along, it runs again.
    const parent = try f.registry.create(8, 0, d, &recorder, .none);
    const undone = try f.registry.create(9, 0, d, &recorder, parent);
    try f.registry.setView(undone, true);
    try f.registry.setView(undone, false);
    try f.registry.destroy(parent);
    try testing.expectEqualSlices(usize, &.{ 2, 4, 1, 9, 8 }, recorder.seen());
    try testing.expectError(error.StaleHandle, f.registry.setView(view, true));
    try testing.expectEqual(@as(u64, 0), f.stats.capsules_live);
}

test "parents: same parent is a no-op, re-parenting moves, removal detaches, cycles refused" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 8 });
    defer f.registry.deinit();
    const a = try f.registry.create(1, 0, null, null, .none);
    const b = try f.registry.create(2, 0, null, null, .none);
    const c = try f.registry.create(3, 0, null, null, a);
    try f.registry.setParent(c, a);
    try testing.expectEqual(@as(u32, 1), (try f.registry.info(a)).child_count);
    try f.registry.setParent(c, b);
    try testing.expectEqual(@as(u32, 0), (try f.registry.info(a)).child_count);
    try testing.expectEqual(b, (try f.registry.info(c)).parent);
    try testing.expectError(error.Cycle, f.registry.setParent(b, c));
    try testing.expectError(error.Cycle, f.registry.setParent(c, c));
    try testing.expectEqual(@as(u64, 2), f.stats.cycles_refused);
    // Re-parent to b, then destroy a: c survives and belongs to b.
    try f.registry.destroy(a);
    try testing.expectEqual(b, (try f.registry.info(c)).parent);
    try f.registry.setParent(c, .none);
    try testing.expectEqual(Handle.none, (try f.registry.info(c)).parent);
    try f.registry.destroy(b);
    _ = try f.registry.info(c);
    try f.registry.destroy(c);
}

test "notify: native destroyed the object, so its own destructor does not run" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 8 });
    defer f.registry.deinit();
    var recorder: Recorder = .{};
    const d = Recorder.destructor;
    const parent = try f.registry.create(1, 0, d, &recorder, .none);
    const child = try f.registry.create(2, 0, d, &recorder, parent);
    try f.registry.notifyDestroyed(parent);
    try testing.expectEqualSlices(usize, &.{2}, recorder.seen());
    try testing.expectError(error.StaleHandle, f.registry.notifyDestroyed(child));
    try testing.expectEqual(@as(u64, 1), f.stats.capsules_notified);
}

test "keep-alive defers the destructor until the last keep-alive is dropped" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 8 });
    defer f.registry.deinit();
    var recorder: Recorder = .{};
    const source = try f.registry.create(7, 0, Recorder.destructor, &recorder, .none);
    try f.registry.keepAlive(source);
    try f.registry.keepAlive(source);
    try f.registry.destroy(source);
    try testing.expectError(error.StaleHandle, f.registry.info(source));
    try testing.expectEqual(@as(usize, 0), recorder.len);
    try f.registry.dropKeepAlive(source);
    try testing.expectEqual(@as(usize, 0), recorder.len);
    try f.registry.dropKeepAlive(source);
    try testing.expectEqualSlices(usize, &.{7}, recorder.seen());
    try testing.expectError(error.StaleHandle, f.registry.dropKeepAlive(source));
    const other = try f.registry.create(8, 0, null, null, .none);
    try testing.expectError(error.NotKeptAlive, f.registry.dropKeepAlive(other));
    try f.registry.destroy(other);
}

test "dropping the last keep-alive of a destroyed entry reserves its place in the free queue" {
    // destroy() reserves queue room for every slot it walks, but a kept-alive slot joins the
    // queue only later, when dropKeepAlive() recycles it: by then other destroys may have used
    // that room. Without its own reservation the push overran the queue, and create() later
    // issued slot 0 (the fuzz campaign found it as a null handle under Bun).
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 64 });
    defer f.registry.deinit();
    const kept = try f.registry.create(0x1000, 1, null, null, .none);
    try f.registry.keepAlive(kept);
    try f.registry.destroy(kept);
    var handles: [40]Handle = undefined;
    for (&handles, 0..) |*h, i| h.* = try f.registry.create(0x2000 + i, 1, null, null, .none);
    // Destroy until the queue is full to its capacity: the kept slot's room is used up.
    var destroyed: usize = 0;
    while (destroyed < handles.len) {
        try f.registry.destroy(handles[destroyed]);
        destroyed += 1;
        if (f.registry.free_slots.len == f.registry.free_slots.buffer.len) break;
    }
    try testing.expectEqual(f.registry.free_slots.buffer.len, f.registry.free_slots.len);
    try f.registry.dropKeepAlive(kept);
    for (0..destroyed + 1) |_| {
        const again = try f.registry.create(0x3000, 1, null, null, .none);
        try testing.expect(again.slot != 0);
        try f.registry.destroy(again);
    }
    for (handles[destroyed..]) |h| try f.registry.destroy(h);
}

test "a handle with generation 0 never matches a live entry's keep-alive" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 4 });
    defer f.registry.deinit();
    var recorder: Recorder = .{};
    const live = try f.registry.create(1, 0, Recorder.destructor, &recorder, .none);
    try testing.expectEqual(@as(u32, 1), live.generation);
    try testing.expectError(error.ForgedHandle, f.registry.dropKeepAlive(.{ .slot = live.slot, .generation = 0 }));
    try testing.expectEqual(@as(usize, 0), recorder.len);
    _ = try f.registry.info(live);
    try f.registry.destroy(live);
}

test "notify by address spares the own destructor of every entry at that address" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 8 });
    defer f.registry.deinit();
    var recorder: Recorder = .{};
    const d = Recorder.destructor;
    const outer = try f.registry.create(0x700, 1, d, &recorder, .none);
    const member = try f.registry.create(0x700, 2, d, &recorder, .none);
    const other_child = try f.registry.create(0x800, 3, d, &recorder, .none);
    try f.registry.setParent(member, outer);
    try f.registry.setParent(other_child, member);
    try testing.expectEqual(@as(u32, 2), try f.registry.notifyDestroyedAddress(0x700));
    // Only the object at another address gets its destructor.
    try testing.expectEqualSlices(usize, &.{0x800}, recorder.seen());
    try testing.expectError(error.StaleHandle, f.registry.info(other_child));
}

test "a destructor may call back into the registry" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 8 });
    defer f.registry.deinit();
    const Reentrant = struct {
        var registry: *Registry = undefined;
        var sibling: Handle = undefined;
        fn destructor(_: ?*anyopaque, _: ?*anyopaque) callconv(.c) void {
            registry.destroy(sibling) catch unreachable;
            _ = registry.create(0x99, 0, null, null, .none) catch unreachable;
        }
    };
    Reentrant.registry = &f.registry;
    Reentrant.sibling = try f.registry.create(2, 0, null, null, .none);
    const first = try f.registry.create(1, 0, Reentrant.destructor, null, .none);
    try f.registry.destroy(first);
    try testing.expectEqual(@as(u64, 1), f.stats.capsules_live);
    try testing.expectEqual(@as(u32, 1), try f.registry.notifyDestroyedAddress(0x99));
}

fn noopDestructor(_: ?*anyopaque, _: ?*anyopaque) callconv(.c) void {}

test "register refuses a second owner of one address under another type" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 8 });
    defer f.registry.deinit();
    var existing: Handle = .none;
    const outer = try f.registry.register(0x20, 1, &noopDestructor, null, 1, &existing);
    try testing.expectError(error.AlreadyOwned, f.registry.register(0x20, 2, &noopDestructor, null, 1, &existing));
    try testing.expectEqual(outer, existing);
    const view = try f.registry.register(0x20, 2, null, null, 2, &existing);
    try f.registry.destroy(view);
    try f.registry.destroy(outer);
}

test "register creates once per address and type, and says when it already exists" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 8 });
    defer f.registry.deinit();
    var existing: Handle = .none;
    const first = try f.registry.register(0x10, 1, null, null, 3, &existing);
    try testing.expectEqual(@as(u32, 3), (try f.registry.info(first)).owner);
    try testing.expectError(error.AlreadyRegistered, f.registry.register(0x10, 1, null, null, 3, &existing));
    try testing.expectEqual(first, existing);
    const other_type = try f.registry.register(0x10, 2, null, null, 1, &existing);
    try testing.expect(other_type.slot != first.slot);
    try f.registry.destroy(first);
    const again = try f.registry.register(0x10, 1, null, null, 1, &existing);
    try testing.expect(again.generation != first.generation or again.slot != first.slot);
    try f.registry.destroy(again);
    try f.registry.destroy(other_type);
}

test "destroying a tree larger than the stack buffer runs every destructor" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 64 });
    defer f.registry.deinit();
    var recorder: Recorder = .{};
    const root = try f.registry.create(1, 0, Recorder.destructor, &recorder, .none);
    for (0..40) |i| _ = try f.registry.create(100 + i, 0, Recorder.destructor, &recorder, root);
    try f.registry.destroy(root);
    try testing.expectEqual(@as(usize, 41), recorder.len);
    try testing.expectEqual(@as(usize, 1), recorder.calls[40]);
}

test "table full is a status, not a crash" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 2 });
    defer f.registry.deinit();
    const a = try f.registry.create(1, 0, null, null, .none);
    const b = try f.registry.create(2, 0, null, null, .none);
    try testing.expectError(error.TableFull, f.registry.create(3, 0, null, null, .none));
    var all: [4]Handle = undefined;
    try testing.expectEqual(@as(usize, 2), f.registry.enumerate(&all));
    try f.registry.destroy(a);
    try f.registry.destroy(b);
}

test "a full table still answers register with the entry that exists, and forgets a refused address" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 1 });
    defer f.registry.deinit();
    var existing: Handle = .none;
    const window = try f.registry.register(0x10, 1, null, null, 1, &existing);
    try testing.expectError(error.AlreadyRegistered, f.registry.register(0x10, 1, null, null, 1, &existing));
    try testing.expectEqual(window, existing);
    try testing.expectError(error.TableFull, f.registry.register(0x20, 1, null, null, 1, &existing));
    try testing.expectEqual(@as(usize, 1), f.registry.by_address.len);
    try testing.expectError(error.NotFound, f.registry.find(0x20, any_type));
    try f.registry.destroy(window);
    try testing.expectEqual(@as(usize, 0), f.registry.by_address.len);
    const button = try f.registry.register(0x20, 1, null, null, 1, &existing);
    try testing.expectEqual(button, try f.registry.find(0x20, any_type));
    try f.registry.destroy(button);
}

test "a create that runs out of memory changes nothing, whether a new slot or a queued one was next" {
    var failing = std.testing.FailingAllocator.init(testing.allocator, .{});
    var stats: Stats = .{};
    var r = try Registry.init(failing.allocator(), &stats, .{ .capacity = 64 });
    defer r.deinit();
    // The first create allocates the address map: refused, it issues no slot.
    failing.fail_index = failing.alloc_index;
    try testing.expectError(error.OutOfMemory, r.create(0x1000, 0, null, null, .none));
    try testing.expectEqual(@as(u32, 0), r.issued);
    failing.fail_index = std.math.maxInt(usize);
    // 32 addresses fill the map to its load limit: the next insert must grow it. Second
    // entries at two of the addresses, destroyed, leave their slots queued and the map as full.
    var handles: [32]Handle = undefined;
    for (handles[0..31], 0..) |*h, i| h.* = try r.create(0x1000 + i * 16, 0, null, null, .none);
    const sharer = try r.create(0x1000, 1, null, null, .none);
    const second_sharer = try r.create(0x1010, 1, null, null, .none);
    handles[31] = try r.create(0x1000 + 31 * 16, 0, null, null, .none);
    try r.destroy(sharer);
    try r.destroy(second_sharer);
    try testing.expectEqual(@as(usize, 32), r.by_address.len);
    failing.fail_index = failing.alloc_index;
    try testing.expectError(error.OutOfMemory, r.create(0x9000, 0, null, null, .none));
    try testing.expectEqual(@as(u32, 34), r.issued);
    try testing.expectEqual(@as(usize, 32), r.by_address.len);
    failing.fail_index = std.math.maxInt(usize);
    // The refused create took no slot: the next one gets the oldest queued.
    const again = try r.create(0x9000, 0, null, null, .none);
    try testing.expectEqual(sharer.slot, again.slot);
    try testing.expectEqual(sharer.generation + 2, again.generation);
    try r.destroy(again);
    for (handles) |h| try r.destroy(h);
}

test "notify from other threads while the main thread creates" {
    var f: Fixture = undefined;
    try f.setUp(.{ .capacity = 1 << 12 });
    defer f.registry.deinit();
    const per_thread = 500;
    var handles: [4 * per_thread]Handle = undefined;
    for (&handles, 0..) |*h, i| h.* = try f.registry.create(0x1000 + i * 16, 0, null, null, .none);
    const worker = struct {
        fn run(registry: *Registry, mine: []const Handle) void {
            for (mine) |h| registry.notifyDestroyed(h) catch unreachable;
        }
    }.run;
    var threads: [4]std.Thread = undefined;
    for (&threads, 0..) |*t, i| t.* = try std.Thread.spawn(.{}, worker, .{ &f.registry, handles[i * per_thread ..][0..per_thread] });
    for (0..1000) |i| try f.registry.destroy(try f.registry.create(0x9000_0000 + i * 16, 0, null, null, .none));
    for (threads) |t| t.join();
    try testing.expectEqual(@as(u64, 0), f.stats.capsules_live);
    try testing.expectEqual(@as(u64, 4 * per_thread), f.stats.capsules_notified);
}
