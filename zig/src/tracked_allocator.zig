//! The tracked allocator: malloc/calloc/realloc/free shapes that detect misuse and report
//! it instead of crashing.
//!
//! Layout of a block:
//!
//!     [ front guard (max(16, alignment) bytes) ][ user bytes ][ tail canary ]
//!                                               ^ the pointer handed out
//!
//! Both guards are filled with `guard_byte`. The metadata of live blocks (size, alignment,
//! tag, sequence) lives out of band in a hash table keyed by the user address, so damaging the
//! guards cannot damage the bookkeeping, and a free of an arbitrary pointer is answered by
//! a table lookup without ever reading memory the pointer names. That is what lets an
//! invalid free be reported rather than crash: no pointer is dereferenced until the table
//! says it is ours.
//!
//! Freed blocks leave the table, are filled with `poison_byte` and are held, with their
//! metadata, in a FIFO quarantine bounded by count and bytes. A block leaving the
//! quarantine is checked for writes after free. Keeping the metadata in the FIFO rather than
//! in the table means eviction reads memory sequentially instead of a cold table slot, and
//! the table holds live blocks only. A free of a pointer that is not a live block takes the
//! slow path: inside a live block it is an interior pointer; found in the quarantine or in a
//! bounded ring of recent frees it is a double free; otherwise it is an invalid free.
//!
//! Blocks of up to 64 KiB with the default alignment come from custody's own 2 MiB chunks,
//! in size classes. A verified block leaving the quarantine goes to the free list of its
//! class and is the next block of that class handed out, while it is still in cache.
//! Handing blocks back to glibc long after they were freed defeated glibc's per-thread
//! caches, and interleaving them with the host's own glibc blocks made the cost depend on
//! the process's heap layout; both cost more than all the checks. Chunk memory is reused,
//! not returned to the OS, so resident memory follows the peak of small-block usage.
//! Larger and over-aligned blocks come from, and go back to, the system allocator.
//!
//! Every detection is counted in `Stats` and recorded in the event log. The allocator
//! never panics: bad input is reported and ignored.
const std = @import("std");
const Lock = @import("lock.zig").Lock;
const Stats = @import("stats.zig").Stats;
const events = @import("events.zig");
const AddressMap = @import("address_map.zig").AddressMap;

pub const guard_byte: u8 = 0xFD;
pub const poison_byte: u8 = 0xDD;
pub const min_front = 16;
pub const max_alignment = 1 << 16;
pub const max_canary = 1024;
pub const recent_capacity = 4096;

/// Run-time settings; JS passes this struct by pointer.
pub const Config = extern struct {
    /// Most blocks held in the quarantine; 0 turns the quarantine off.
    quarantine_max_count: u64 = 256,
    /// Most bytes held in the quarantine; larger blocks bypass it.
    quarantine_max_bytes: u64 = 1 << 20,
    /// Bytes of tail canary after each new block; 0 turns overrun checks off for new blocks.
    canary_size: u32 = 16,
    /// 1: fill freed blocks with `poison_byte` and verify it when they leave the quarantine.
    poison: u32 = 1,
};

/// One live allocation, as enumerated for leak reports.
pub const LiveRecord = extern struct {
    address: u64,
    size: u64,
    sequence: u64,
    tag: u32,
    alignment: u32,
};

pub const FreeOutcome = enum { freed, ignored_null, reported };

const Meta = struct {
    size: usize,
    sequence: u64,
    tag: u32,
    align_log2: u8,
    /// In the quarantine only: the block was filled with `poison_byte` when freed (poisoning
    /// can be switched off and on while blocks wait there).
    poisoned: bool = false,
    canary: u16,

    fn front(self: Meta) usize {
        return frontSize(@as(usize, 1) << @intCast(self.align_log2));
    }
    fn total(self: Meta) usize {
        return self.front() + self.size + self.canary;
    }
    fn alignment(self: Meta) usize {
        return @as(usize, 1) << @intCast(self.align_log2);
    }
};

/// Small blocks by size class (16-byte steps up to 1 KiB, then powers of two up to 64 KiB):
/// carved from 2 MiB chunks, recycled through a free list per class once verified.
const Reuse = struct {
    const granule = 16;
    const small_limit = 1024;
    const large_limit = 64 * 1024;
    const small_classes = small_limit / granule;
    const class_count = small_classes + @as(usize, std.math.log2_int(usize, large_limit / small_limit));

    const Node = struct { next: ?*Node };

    heads: [class_count]?*Node = @splat(null),
    bytes: usize = 0,
    /// The chunk small blocks are carved from, and how much of it is used.
    chunk: []align(chunk_size) u8 = &.{},
    chunk_used: usize = 0,
    /// Every chunk ever mapped, so `drain` can unmap them.
    chunks: std.ArrayList([]align(chunk_size) u8) = .empty,

    const chunk_size = 2 << 20;

    fn classOf(total: usize, alignment: usize) ?usize {
        if (alignment > min_front or total > large_limit) return null;
        if (total <= small_limit) return (@max(total, 1) + granule - 1) / granule - 1;
        return small_classes + @as(usize, std.math.log2_int_ceil(usize, total)) - std.math.log2_int(usize, small_limit) - 1;
    }

    fn classSize(class: usize) usize {
        if (class < small_classes) return (class + 1) * granule;
        return @as(usize, small_limit) << @intCast(class - small_classes + 1);
    }

    fn pop(self: *Reuse, class: usize) ?[*]u8 {
        const node = self.heads[class] orelse return null;
        self.heads[class] = node.next;
        self.bytes -= classSize(class);
        return @ptrCast(node);
    }

    /// A new block of `class` from the current chunk, mapping another chunk when it is full.
    fn carve(self: *Reuse, gpa: std.mem.Allocator, class: usize) ?[*]u8 {
        const size = classSize(class);
        if (self.chunk_used + size > self.chunk.len) {
            const chunk = std.heap.page_allocator.alignedAlloc(u8, .fromByteUnits(chunk_size), chunk_size) catch return null;
            self.chunks.append(gpa, chunk) catch {
                std.heap.page_allocator.free(chunk);
                return null;
            };
            // Fewer TLB misses over a working set spread across the chunk; advice only.
            std.posix.madvise(chunk.ptr, chunk.len, std.posix.MADV.HUGEPAGE) catch {};
            self.chunk = chunk;
            self.chunk_used = 0;
        }
        const block = self.chunk.ptr + self.chunk_used;
        self.chunk_used += size;
        return block;
    }

    /// Keeps a block of `class` for reuse.
    fn push(self: *Reuse, class: usize, base: [*]u8) void {
        const node: *Node = @ptrCast(@alignCast(base));
        node.next = self.heads[class];
        self.heads[class] = node;
        self.bytes += classSize(class);
    }

    fn drain(self: *Reuse, gpa: std.mem.Allocator) void {
        for (self.chunks.items) |chunk| std.heap.page_allocator.free(chunk);
        self.chunks.deinit(gpa);
        self.* = .{};
    }
};

/// A block in the quarantine: 32 bytes, so the FIFO is read a cache line per two blocks.
const Held = struct {
    address: usize,
    meta: Meta,
};

const FreedRecord = struct { address: usize, size: usize, sequence: u64, tag: u32 };

fn frontSize(alignment: usize) usize {
    return @max(min_front, alignment);
}

/// Guards are almost always 16 bytes: one vector store instead of a call to memset.
fn fillGuard(bytes: []u8) void {
    if (bytes.len == 16) {
        bytes[0..16].* = @splat(guard_byte);
    } else {
        @memset(bytes, guard_byte);
    }
}

/// Whether a guard is intact; the usual 16-byte guard is one vector compare, inline.
inline fn guardIntact(bytes: []const u8) bool {
    if (bytes.len == 16) {
        const chunk: @Vector(16, u8) = bytes[0..16].*;
        return !@reduce(.Or, chunk != @as(@Vector(16, u8), @splat(guard_byte)));
    }
    return firstDamaged(bytes, guard_byte) == null;
}

/// Fills a freed block with `poison_byte` in 32-byte stores, the tail as one overlapping
/// store; measured faster here than the generic memset for the sizes a quarantine holds.
fn poison(bytes: []u8) void {
    if (bytes.len < 32) return @memset(bytes, poison_byte);
    const fill: @Vector(32, u8) = @splat(poison_byte);
    var i: usize = 0;
    while (i + 32 <= bytes.len) : (i += 32) bytes[i..][0..32].* = fill;
    bytes[bytes.len - 32 ..][0..32].* = fill;
}

/// Asks the CPU to start loading the first lines of a block that will be read soon.
inline fn prefetchBlock(address: usize, size: usize) void {
    const bytes: [*]const u8 = @ptrFromInt(address);
    const lines = @min(size / 64 + 1, 8);
    for (0..lines) |i| @prefetch(bytes + i * 64, .{ .rw = .read, .locality = 2, .cache = .data });
}

/// The offset of the first byte of `bytes` that is not `expected`, or null. The common case
/// (nothing damaged) runs on wide vectors with one overlapping window for the tail.
fn firstDamaged(bytes: []const u8, expected: u8) ?usize {
    const whole = if (bytes.len >= 32)
        intact(32, bytes, expected)
    else if (bytes.len >= 16)
        intact(16, bytes, expected)
    else
        std.mem.allEqual(u8, bytes, expected);
    if (whole) return null;
    return std.mem.indexOfNone(u8, bytes, &.{expected});
}

/// Whether every `width`-byte window of `bytes` (stepping by `width`, plus a last window
/// ending at the end) holds only `expected`. `bytes` is at least `width` long.
fn intact(comptime width: usize, bytes: []const u8, expected: u8) bool {
    const Vec = @Vector(width, u8);
    const pattern: Vec = @splat(expected);
    // Differences are OR-ed together and tested once: no branch per chunk, so the loads of
    // a cold block overlap.
    var differences: Vec = @as(Vec, bytes[bytes.len - width ..][0..width].*) ^ pattern;
    var i: usize = 0;
    while (i + width <= bytes.len) : (i += width) {
        differences |= @as(Vec, bytes[i..][0..width].*) ^ pattern;
    }
    return @reduce(.Or, differences) == 0;
}

test "poison fills every byte and nothing past the end, at every length" {
    var buffer: [300]u8 = undefined;
    for (0..buffer.len - 1) |len| {
        @memset(&buffer, 0);
        poison(buffer[0..len]);
        for (buffer[0..len]) |byte| try std.testing.expectEqual(poison_byte, byte);
        try std.testing.expectEqual(@as(u8, 0), buffer[len]);
    }
}

test "firstDamaged finds the first wrong byte at every length and position" {
    var buffer: [300]u8 = undefined;
    for (0..buffer.len) |len| {
        @memset(buffer[0..len], poison_byte);
        try std.testing.expectEqual(@as(?usize, null), firstDamaged(buffer[0..len], poison_byte));
        for (0..len) |damaged| {
            buffer[damaged] = 0;
            try std.testing.expectEqual(@as(?usize, damaged), firstDamaged(buffer[0..len], poison_byte));
            buffer[damaged] = poison_byte;
        }
    }
}

pub const Tracker = struct {
    /// Holds the tracker's own tables, never user blocks.
    gpa: std.mem.Allocator,
    stats: *Stats,
    guard: Lock = .{},
    config: Config = .{},
    log: events.Log = .{},
    blocks: AddressMap(Meta) = .empty,
    quarantine: std.Deque(Held) = .empty,
    reuse: Reuse = .{},
    recent: [recent_capacity]FreedRecord = undefined,
    recent_len: usize = 0,
    recent_next: usize = 0,
    next_sequence: u64 = 1,

    pub fn init(gpa: std.mem.Allocator, stats: *Stats) Tracker {
        return .{ .gpa = gpa, .stats = stats };
    }

    /// Returns every block still held to the system allocator and drops the tables.
    /// Live blocks are freed too: call this only when nobody can use them any more.
    pub fn deinit(self: *Tracker) void {
        var it = self.blocks.iterator();
        while (it.next()) |entry| releaseToSystem(entry.key, entry.value);
        while (self.quarantine.popFront()) |held| releaseToSystem(held.address, held.meta);
        self.reuse.drain(self.gpa);
        self.blocks.deinit(self.gpa);
        self.quarantine.deinit(self.gpa);
    }

    pub fn configure(self: *Tracker, config: Config) error{ InvalidConfig, OutOfMemory }!void {
        if (config.canary_size > max_canary or config.poison > 1) return error.InvalidConfig;
        self.guard.lock();
        defer self.guard.unlock();
        self.config = config;
        self.evictOverflow();
    }

    /// Allocates `size` bytes aligned to `alignment` (a power of two). Returns null when the
    /// request is malformed or memory is exhausted; never reports that as a violation.
    ///
    /// `alloc`, `freeBlock` and `evictOldest` start on a cache line: where the linker put them
    /// otherwise moved with unrelated changes elsewhere in the library, and a registry change
    /// once made malloc+free 3 ns slower natively and a raw widget create+destroy through
    /// Deno 7 ns slower without touching this file.
    pub fn alloc(self: *Tracker, size: usize, alignment: usize, tag: u32) align(64) ?[*]u8 {
        if (alignment == 0 or !std.math.isPowerOfTwo(alignment) or alignment > max_alignment) return self.failed();
        const canary: u16 = @intCast(@atomicLoad(u32, &self.config.canary_size, .monotonic));
        const front = frontSize(alignment);
        const total = std.math.add(usize, front + canary, size) catch return self.failed();
        const class = Reuse.classOf(total, alignment);

        self.guard.lock();
        defer self.guard.unlock();
        const base = (if (class) |c| self.reuse.pop(c) orelse self.reuse.carve(self.gpa, c) else systemAlloc(total, alignment)) orelse {
            self.stats.failed_allocs += 1;
            return null;
        };
        const user = base + front;
        const slot = self.blocks.getOrPut(self.gpa, @intFromPtr(user)) catch {
            self.release(base, class);
            self.stats.failed_allocs += 1;
            return null;
        };
        fillGuard(base[0..front]);
        fillGuard(base[front + size ..][0..canary]);
        slot.value_ptr.* = .{
            .size = size,
            .sequence = self.next_sequence,
            .tag = tag,
            .align_log2 = @intCast(std.math.log2_int(usize, alignment)),
            .canary = canary,
        };
        self.next_sequence += 1;
        const s = self.stats;
        s.live_count += 1;
        s.live_bytes += size;
        s.total_allocs += 1;
        s.total_bytes += size;
        s.peak_count = @max(s.peak_count, s.live_count);
        s.peak_bytes = @max(s.peak_bytes, s.live_bytes);
        return user;
    }

    pub fn calloc(self: *Tracker, count: usize, size: usize, alignment: usize, tag: u32) ?[*]u8 {
        const bytes = std.math.mul(usize, count, size) catch return self.failed();
        const user = self.alloc(bytes, alignment, tag) orelse return null;
        @memset(user[0..bytes], 0);
        return user;
    }

    fn failed(self: *Tracker) ?[*]u8 {
        self.guard.lock();
        defer self.guard.unlock();
        self.stats.failed_allocs += 1;
        return null;
    }

    pub fn free(self: *Tracker, pointer: ?*anyopaque) FreeOutcome {
        return self.freeBlock(pointer, .on_free);
    }

    /// `path` says which guard check this free performs: `.on_free` checks the guards,
    /// `.on_realloc` trusts the check realloc already made, so nothing is reported twice.
    fn freeBlock(self: *Tracker, pointer: ?*anyopaque, path: events.Detail) align(64) FreeOutcome {
        const address = @intFromPtr(pointer orelse return .ignored_null);
        self.guard.lock();
        defer self.guard.unlock();
        const index = self.blocks.indexOf(address) orelse {
            self.reportUnknown(address, .on_free);
            return .reported;
        };
        const meta = self.blocks.valueAt(index).*;
        self.blocks.removeAt(index);
        if (path == .on_free) self.checkGuards(address, meta, .on_free);
        self.retire(address, meta);
        return .freed;
    }

    /// C `realloc` semantics: a null pointer allocates, a zero size frees and returns null.
    /// A pointer that is not a live block is reported and left alone, and null is returned.
    pub fn realloc(self: *Tracker, pointer: ?*anyopaque, new_size: usize, default_tag: u32) ?[*]u8 {
        const address = @intFromPtr(pointer orelse return self.alloc(new_size, min_front, default_tag));
        if (new_size == 0) {
            _ = self.free(pointer);
            return null;
        }
        const old = blk: {
            self.guard.lock();
            defer self.guard.unlock();
            const meta = self.blocks.get(address) orelse {
                self.reportUnknown(address, .on_realloc);
                return null;
            };
            self.checkGuards(address, meta, .on_realloc);
            break :blk meta;
        };
        const moved = self.alloc(new_size, @as(usize, 1) << @intCast(old.align_log2), old.tag) orelse return null;
        const old_bytes: [*]const u8 = @ptrFromInt(address);
        @memcpy(moved[0..@min(old.size, new_size)], old_bytes[0..@min(old.size, new_size)]);
        _ = self.freeBlock(pointer, .on_realloc);
        return moved;
    }

    /// Verifies the guards of every live block and the poison of every quarantined block.
    /// Returns how many violations it found.
    pub fn checkAll(self: *Tracker) u64 {
        self.guard.lock();
        defer self.guard.unlock();
        const before = self.stats.events_total;
        var it = self.blocks.iterator();
        while (it.next()) |entry| self.checkGuards(entry.key, entry.value, .on_check);
        var held = self.quarantine.iterator();
        while (held.next()) |h| if (h.meta.poisoned) self.checkPoison(h.address, h.meta, .on_check);
        return self.stats.events_total - before;
    }

    /// Copies live blocks with sequence >= `min_sequence` into `out`; returns how many such
    /// blocks exist, which may exceed `out.len`.
    pub fn enumerateLive(self: *Tracker, min_sequence: u64, out: []LiveRecord) usize {
        self.guard.lock();
        defer self.guard.unlock();
        var found: usize = 0;
        var it = self.blocks.iterator();
        while (it.next()) |entry| {
            const meta = entry.value;
            if (meta.sequence < min_sequence) continue;
            if (found < out.len) out[found] = .{
                .address = entry.key,
                .size = meta.size,
                .sequence = meta.sequence,
                .tag = meta.tag,
                .alignment = @as(u32, 1) << @intCast(meta.align_log2),
            };
            found += 1;
        }
        return found;
    }

    /// The size of a live block, or null if `pointer` is not one.
    pub fn sizeOf(self: *Tracker, pointer: ?*const anyopaque) ?usize {
        self.guard.lock();
        defer self.guard.unlock();
        const meta = self.blocks.get(@intFromPtr(pointer)) orelse return null;
        return meta.size;
    }

    /// The tag of a live block, or null if `pointer` is not one.
    pub fn tagOf(self: *Tracker, pointer: ?*const anyopaque) ?u32 {
        self.guard.lock();
        defer self.guard.unlock();
        const meta = self.blocks.get(@intFromPtr(pointer)) orelse return null;
        return meta.tag;
    }

    /// The sequence number the next allocation will get.
    pub fn nextSequence(self: *Tracker) u64 {
        self.guard.lock();
        defer self.guard.unlock();
        return self.next_sequence;
    }

    pub fn copyEvents(self: *Tracker, after: u64, out: []events.Event) usize {
        self.guard.lock();
        defer self.guard.unlock();
        return self.log.copyAfter(after, out);
    }

    /// Empties the quarantine, verifying every block on its way out.
    pub fn flushQuarantine(self: *Tracker) void {
        self.guard.lock();
        defer self.guard.unlock();
        while (self.quarantine.len > 0) self.evictOldest();
    }

    // ---- internals; the caller holds the lock ----

    /// Quarantines a block that just left `blocks`, or hands it back if the quarantine is
    /// off or the block too large for it.
    fn retire(self: *Tracker, address: usize, meta: Meta) void {
        const s = self.stats;
        s.live_count -= 1;
        s.live_bytes -= meta.size;
        s.total_frees += 1;
        const poisoned = self.config.poison == 1;
        const quarantine_on = self.config.quarantine_max_count > 0 and meta.size <= self.config.quarantine_max_bytes;
        var entry: Held = .{ .address = address, .meta = meta };
        entry.meta.poisoned = poisoned;
        const held = quarantine_on and hold: {
            self.quarantine.pushBack(self.gpa, entry) catch break :hold false;
            break :hold true;
        };
        if (!held) return self.forget(address, meta);
        if (poisoned) {
            const user: [*]u8 = @ptrFromInt(address);
            poison(user[0..meta.size]);
        }
        s.quarantine_count += 1;
        s.quarantine_bytes += meta.size;
        self.evictOverflow();
        // The next block to leave is known now: start loading what its check will read.
        if (self.quarantine.front()) |next| if (next.meta.poisoned) prefetchBlock(next.address, next.meta.size);
    }

    fn evictOverflow(self: *Tracker) void {
        while (self.quarantine.len > 0 and
            (self.quarantine.len > self.config.quarantine_max_count or self.stats.quarantine_bytes > self.config.quarantine_max_bytes))
        {
            self.evictOldest();
        }
    }

    fn evictOldest(self: *Tracker) align(64) void {
        const held = self.quarantine.popFront().?;
        self.stats.quarantine_count -= 1;
        self.stats.quarantine_bytes -= held.meta.size;
        if (held.meta.poisoned) self.checkPoison(held.address, held.meta, .on_evict);
        self.forget(held.address, held.meta);
    }

    /// The quarantined block at `address`, newest first, or null.
    fn findHeld(self: *const Tracker, address: usize) ?Meta {
        var i = self.quarantine.len;
        while (i > 0) {
            i -= 1;
            const held = self.quarantine.at(i);
            if (held.address == address) return held.meta;
        }
        return null;
    }

    /// Hands a block, already removed from `blocks`, back for reuse and remembers it among
    /// the recent frees.
    fn forget(self: *Tracker, address: usize, meta: Meta) void {
        self.recent[self.recent_next] = .{ .address = address, .size = meta.size, .sequence = meta.sequence, .tag = meta.tag };
        self.recent_next = (self.recent_next + 1) % recent_capacity;
        self.recent_len = @min(self.recent_len + 1, recent_capacity);
        const base: [*]u8 = @ptrFromInt(address - meta.front());
        self.release(base, Reuse.classOf(meta.total(), meta.alignment()));
    }

    /// Small blocks live in custody's chunks and go back to their size class; larger and
    /// over-aligned ones came from the system and go back to it.
    fn release(self: *Tracker, base: [*]u8, class: ?usize) void {
        if (class) |c| return self.reuse.push(c, base);
        systemFree(base);
    }

    inline fn checkGuards(self: *Tracker, address: usize, meta: Meta, detail: events.Detail) void {
        const user: [*]const u8 = @ptrFromInt(address);
        const front = (user - meta.front())[0..meta.front()];
        const tail = user[meta.size..][0..meta.canary];
        if (!guardIntact(front) or !guardIntact(tail)) self.reportGuards(address, meta, detail);
    }

    fn reportGuards(self: *Tracker, address: usize, meta: Meta, detail: events.Detail) void {
        @branchHint(.cold);
        const user: [*]const u8 = @ptrFromInt(address);
        const front = meta.front();
        if (firstDamaged((user - front)[0..front], guard_byte)) |i| {
            self.report(.underrun, detail, address, meta, front - i);
        }
        if (firstDamaged(user[meta.size..][0..meta.canary], guard_byte)) |i| {
            self.report(.overrun, detail, address, meta, i);
        }
    }

    fn checkPoison(self: *Tracker, address: usize, meta: Meta, detail: events.Detail) void {
        const user: [*]const u8 = @ptrFromInt(address);
        if (firstDamaged(user[0..meta.size], poison_byte)) |i| {
            self.report(.write_after_free, detail, address, meta, i);
        }
    }

    /// A pointer that is not a live block: inside a live block (the live table is the truth),
    /// else a block in the quarantine, else a recent free (history, possibly of an address
    /// reused since), else wild.
    fn reportUnknown(self: *Tracker, address: usize, path: events.Detail) void {
        var it = self.blocks.iterator();
        while (it.next()) |entry| {
            const start = entry.key;
            const meta = entry.value;
            if (address > start and address < start + @max(meta.size, 1)) {
                self.record(.invalid_free, .interior_pointer, address, meta.size, meta.sequence, meta.tag, start);
                return;
            }
        }
        if (self.findHeld(address)) |meta| {
            self.report(.double_free, if (path == .on_realloc) .on_realloc else .in_quarantine, address, meta, 0);
            return;
        }
        var i: usize = 0;
        while (i < self.recent_len) : (i += 1) {
            const freed = self.recent[(self.recent_next + recent_capacity - 1 - i) % recent_capacity];
            if (freed.address != address) continue;
            self.record(.double_free, if (path == .on_realloc) .on_realloc else .recently_freed, address, freed.size, freed.sequence, freed.tag, 0);
            return;
        }
        self.record(.invalid_free, .unknown_pointer, address, 0, 0, 0, 0);
    }

    fn report(self: *Tracker, kind: events.Kind, detail: events.Detail, address: usize, meta: Meta, related: u64) void {
        self.record(kind, detail, address, meta.size, meta.sequence, meta.tag, related);
    }

    fn record(self: *Tracker, kind: events.Kind, detail: events.Detail, address: usize, size: usize, sequence: u64, tag: u32, related: u64) void {
        const s = self.stats;
        switch (kind) {
            .double_free => s.double_frees += 1,
            .invalid_free => s.invalid_frees += 1,
            .overrun => s.overruns += 1,
            .underrun => s.underruns += 1,
            .write_after_free => s.writes_after_free += 1,
        }
        s.events_total += 1;
        _ = self.log.record(.{
            .id = 0,
            .kind = @intFromEnum(kind),
            .detail = @intFromEnum(detail),
            .address = address,
            .size = size,
            .sequence = sequence,
            .tag = tag,
            .related = related,
        });
    }
};

fn systemAlloc(total: usize, alignment: usize) ?[*]u8 {
    if (alignment <= min_front) return @ptrCast(std.c.malloc(total) orelse return null);
    var out: ?*anyopaque = null;
    if (std.c.posix_memalign(&out, alignment, total) != 0) return null;
    return @ptrCast(out orelse return null);
}

fn systemFree(base: [*]u8) void {
    std.c.free(base);
}

/// For `deinit`: system blocks are freed; chunk blocks go with their chunks.
fn releaseToSystem(address: usize, meta: Meta) void {
    if (Reuse.classOf(meta.total(), meta.alignment()) != null) return;
    const user: [*]u8 = @ptrFromInt(address);
    systemFree(user - meta.front());
}

// ---- tests ----

const testing = std.testing;

const Fixture = struct {
    stats: Stats = .{},
    tracker: Tracker = undefined,

    fn setUp(self: *Fixture, config: Config) !void {
        self.* = .{};
        self.tracker = .init(testing.allocator, &self.stats);
        try self.tracker.configure(config);
    }

    fn lastEvent(self: *Fixture) events.Event {
        var out: [1]events.Event = undefined;
        _ = self.tracker.copyEvents(self.tracker.log.recorded - 1, &out);
        return out[0];
    }
};

test "allocations are aligned, tagged, sequenced and counted" {
    var f: Fixture = undefined;
    try f.setUp(.{});
    defer f.tracker.deinit();
    const a = f.tracker.alloc(10, 16, 7).?;
    const b = f.tracker.alloc(100, 256, 8).?;
    try testing.expect(@intFromPtr(b) % 256 == 0);
    try testing.expectEqual(@as(u64, 2), f.stats.live_count);
    try testing.expectEqual(@as(u64, 110), f.stats.live_bytes);
    var records: [4]LiveRecord = undefined;
    try testing.expectEqual(@as(usize, 2), f.tracker.enumerateLive(0, &records));
    try testing.expectEqual(@as(usize, 1), f.tracker.enumerateLive(2, &records));
    try testing.expectEqual(@as(u64, 100), records[0].size);
    try testing.expectEqual(@as(u32, 8), records[0].tag);
    try testing.expectEqual(@as(u32, 256), records[0].alignment);
    try testing.expectEqual(FreeOutcome.freed, f.tracker.free(a));
    try testing.expectEqual(FreeOutcome.freed, f.tracker.free(b));
    try testing.expectEqual(@as(u64, 0), f.stats.live_count);
    try testing.expectEqual(@as(u64, 110), f.stats.peak_bytes);
    try testing.expectEqual(@as(u64, 0), f.stats.violations());
}

test "malformed requests fail without a violation" {
    var f: Fixture = undefined;
    try f.setUp(.{});
    defer f.tracker.deinit();
    try testing.expectEqual(@as(?[*]u8, null), f.tracker.alloc(8, 3, 0));
    try testing.expectEqual(@as(?[*]u8, null), f.tracker.alloc(std.math.maxInt(usize) - 8, 16, 0));
    try testing.expectEqual(@as(?[*]u8, null), f.tracker.calloc(std.math.maxInt(usize), 2, 16, 0));
    try testing.expectEqual(@as(u64, 3), f.stats.failed_allocs);
    try testing.expectEqual(FreeOutcome.ignored_null, f.tracker.free(null));
    try testing.expectEqual(@as(u64, 0), f.stats.violations());
}

test "double free is reported while the block is quarantined" {
    var f: Fixture = undefined;
    try f.setUp(.{});
    defer f.tracker.deinit();
    const p = f.tracker.alloc(24, 16, 3).?;
    _ = f.tracker.free(p);
    try testing.expectEqual(FreeOutcome.reported, f.tracker.free(p));
    const e = f.lastEvent();
    try testing.expectEqual(@intFromEnum(events.Kind.double_free), e.kind);
    try testing.expectEqual(@intFromEnum(events.Detail.in_quarantine), e.detail);
    try testing.expectEqual(@intFromPtr(p), e.address);
    try testing.expectEqual(@as(u64, 24), e.size);
    try testing.expectEqual(@as(u32, 3), e.tag);
    try testing.expectEqual(@as(u64, 1), f.stats.double_frees);
}

test "double free is reported after the block left the quarantine" {
    var f: Fixture = undefined;
    try f.setUp(.{ .quarantine_max_count = 0 });
    defer f.tracker.deinit();
    const p = f.tracker.alloc(40, 16, 5).?;
    _ = f.tracker.free(p);
    try testing.expectEqual(FreeOutcome.reported, f.tracker.free(p));
    const e = f.lastEvent();
    try testing.expectEqual(@intFromEnum(events.Kind.double_free), e.kind);
    try testing.expectEqual(@intFromEnum(events.Detail.recently_freed), e.detail);
    try testing.expectEqual(@as(u64, 40), e.size);
    try testing.expectEqual(@as(u32, 5), e.tag);
}

test "invalid frees: never issued, interior, stack" {
    var f: Fixture = undefined;
    try f.setUp(.{});
    defer f.tracker.deinit();
    const p = f.tracker.alloc(64, 16, 9).?;
    defer _ = f.tracker.free(p);

    _ = f.tracker.free(@ptrFromInt(0x1000));
    var e = f.lastEvent();
    try testing.expectEqual(@intFromEnum(events.Kind.invalid_free), e.kind);
    try testing.expectEqual(@intFromEnum(events.Detail.unknown_pointer), e.detail);

    _ = f.tracker.free(p + 8);
    e = f.lastEvent();
    try testing.expectEqual(@intFromEnum(events.Detail.interior_pointer), e.detail);
    try testing.expectEqual(@intFromPtr(p), e.related);
    try testing.expectEqual(@as(u32, 9), e.tag);

    var on_stack: u64 = 0;
    _ = f.tracker.free(&on_stack);
    try testing.expectEqual(@as(u64, 3), f.stats.invalid_frees);
    try testing.expectEqual(@as(u64, 1), f.stats.live_count);
}

test "overrun and underrun are found on free, on realloc and by checkAll" {
    var f: Fixture = undefined;
    try f.setUp(.{ .canary_size = 8 });
    defer f.tracker.deinit();

    const a = f.tracker.alloc(10, 16, 1).?;
    a[10] = 0;
    _ = f.tracker.free(a);
    var e = f.lastEvent();
    try testing.expectEqual(@intFromEnum(events.Kind.overrun), e.kind);
    try testing.expectEqual(@intFromEnum(events.Detail.on_free), e.detail);
    try testing.expectEqual(@as(u64, 10), e.size);
    try testing.expectEqual(@as(u64, 0), e.related);

    const b = f.tracker.alloc(10, 16, 2).?;
    (b - 3)[0] = 0;
    const c = f.tracker.realloc(b, 20, 0).?;
    e = f.lastEvent();
    try testing.expectEqual(@intFromEnum(events.Kind.underrun), e.kind);
    try testing.expectEqual(@intFromEnum(events.Detail.on_realloc), e.detail);
    try testing.expectEqual(@as(u64, 3), e.related);

    c[25] = 1;
    try testing.expectEqual(@as(u64, 1), f.tracker.checkAll());
    e = f.lastEvent();
    try testing.expectEqual(@intFromEnum(events.Detail.on_check), e.detail);
    try testing.expectEqual(@as(u64, 5), e.related);
    c[25] = guard_byte;
    _ = f.tracker.free(c);
    try testing.expectEqual(@as(u64, 2), f.stats.overruns);
    try testing.expectEqual(@as(u64, 1), f.stats.underruns);
}

test "write after free is found when the block leaves the quarantine" {
    var f: Fixture = undefined;
    try f.setUp(.{ .quarantine_max_count = 2 });
    defer f.tracker.deinit();
    const p = f.tracker.alloc(32, 16, 4).?;
    _ = f.tracker.free(p);
    p[5] = 42;
    for (0..2) |_| _ = f.tracker.free(f.tracker.alloc(8, 16, 0).?);
    const e = f.lastEvent();
    try testing.expectEqual(@intFromEnum(events.Kind.write_after_free), e.kind);
    try testing.expectEqual(@intFromEnum(events.Detail.on_evict), e.detail);
    try testing.expectEqual(@intFromPtr(p), e.address);
    try testing.expectEqual(@as(u64, 5), e.related);
    try testing.expectEqual(@as(u32, 4), e.tag);
}

test "realloc keeps contents, tag and alignment and frees the old block" {
    var f: Fixture = undefined;
    try f.setUp(.{});
    defer f.tracker.deinit();
    const p = f.tracker.alloc(4, 64, 6).?;
    @memcpy(p[0..4], "abcd");
    const q = f.tracker.realloc(p, 1000, 0).?;
    try testing.expectEqualStrings("abcd", q[0..4]);
    try testing.expect(@intFromPtr(q) % 64 == 0);
    try testing.expectEqual(@as(?usize, 1000), f.tracker.sizeOf(q));
    try testing.expectEqual(@as(?usize, null), f.tracker.sizeOf(p));
    try testing.expectEqual(@as(?[*]u8, null), f.tracker.realloc(p, 8, 0));
    try testing.expectEqual(@as(u64, 1), f.stats.double_frees);
    try testing.expectEqual(@as(?[*]u8, null), f.tracker.realloc(q, 0, 0));
    try testing.expectEqual(@as(u64, 0), f.stats.live_count);
    const fresh = f.tracker.realloc(null, 12, 11).?;
    var records: [1]LiveRecord = undefined;
    _ = f.tracker.enumerateLive(0, &records);
    try testing.expectEqual(@as(u32, 11), records[0].tag);
    _ = f.tracker.free(fresh);
}

test "calloc zeroes" {
    var f: Fixture = undefined;
    try f.setUp(.{});
    defer f.tracker.deinit();
    const p = f.tracker.calloc(8, 8, 16, 0).?;
    defer _ = f.tracker.free(p);
    for (p[0..64]) |byte| try testing.expectEqual(@as(u8, 0), byte);
}

test "the quarantine stays within its bounds and reconfiguring shrinks it" {
    var f: Fixture = undefined;
    try f.setUp(.{ .quarantine_max_count = 8, .quarantine_max_bytes = 100 });
    defer f.tracker.deinit();
    for (0..20) |_| _ = f.tracker.free(f.tracker.alloc(30, 16, 0).?);
    try testing.expect(f.stats.quarantine_count <= 8);
    try testing.expect(f.stats.quarantine_bytes <= 100);
    try f.tracker.configure(.{ .quarantine_max_count = 1 });
    try testing.expectEqual(@as(u64, 1), f.stats.quarantine_count);
    try testing.expectError(error.InvalidConfig, f.tracker.configure(.{ .canary_size = max_canary + 1 }));
    f.tracker.flushQuarantine();
    try testing.expectEqual(@as(u64, 0), f.stats.quarantine_count);
    try testing.expectEqual(@as(u64, 0), f.stats.violations());
}

test "poisoning toggled at run time never reports blocks that were not poisoned" {
    var f: Fixture = undefined;
    try f.setUp(.{ .poison = 0 });
    defer f.tracker.deinit();
    const p = f.tracker.alloc(32, 16, 0).?;
    _ = f.tracker.free(p);
    try testing.expectEqual(@as(u64, 0), f.tracker.checkAll());
    try f.tracker.configure(.{ .poison = 1 });
    const q = f.tracker.alloc(32, 16, 0).?;
    _ = f.tracker.free(q);
    try testing.expectEqual(@as(u64, 0), f.tracker.checkAll());
    f.tracker.flushQuarantine();
    try testing.expectEqual(@as(u64, 0), f.stats.violations());
}

test "blocks leaving the quarantine are reused by size class, over-aligned ones are not" {
    var f: Fixture = undefined;
    try f.setUp(.{ .quarantine_max_count = 0 });
    defer f.tracker.deinit();
    const p = f.tracker.alloc(40, 16, 0).?;
    _ = f.tracker.free(p);
    const q = f.tracker.alloc(36, 16, 0).?;
    try testing.expectEqual(p, q);
    _ = f.tracker.free(q);
    try testing.expectEqual(@as(?usize, 0), Reuse.classOf(1, 16));
    try testing.expectEqual(@as(usize, 1024), Reuse.classSize(Reuse.classOf(1024, 16).?));
    try testing.expectEqual(@as(usize, 2048), Reuse.classSize(Reuse.classOf(1025, 16).?));
    try testing.expectEqual(@as(usize, 64 * 1024), Reuse.classSize(Reuse.classOf(64 * 1024, 16).?));
    try testing.expectEqual(@as(?usize, null), Reuse.classOf(64 * 1024 + 1, 16));
    try testing.expectEqual(@as(?usize, null), Reuse.classOf(64, 64));
}

test "concurrent allocation from several threads keeps exact counts" {
    var f: Fixture = undefined;
    try f.setUp(.{});
    defer f.tracker.deinit();
    const worker = struct {
        fn run(tracker: *Tracker) void {
            var held: [16]?[*]u8 = @splat(null);
            for (0..5_000) |i| {
                const slot = i % held.len;
                if (held[slot]) |p| _ = tracker.free(p);
                held[slot] = tracker.alloc(i % 200, 16, 1);
            }
            for (held) |p| _ = tracker.free(p);
        }
    }.run;
    var threads: [4]std.Thread = undefined;
    for (&threads) |*t| t.* = try std.Thread.spawn(.{}, worker, .{&f.tracker});
    for (threads) |t| t.join();
    try testing.expectEqual(@as(u64, 0), f.stats.live_count);
    try testing.expectEqual(@as(u64, 20_000), f.stats.total_allocs);
    try testing.expectEqual(@as(u64, 0), f.stats.violations());
}
