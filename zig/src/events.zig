//! Violation events: what the tracked allocator detected, kept in a bounded ring so a
//! misbehaving program cannot grow memory by misbehaving. Each event has a number that
//! increases by one, so a reader asks for "everything after number N" and learns from a
//! gap that older events were overwritten.
const std = @import("std");

pub const Kind = enum(u32) {
    double_free = 1,
    invalid_free = 2,
    overrun = 3,
    underrun = 4,
    write_after_free = 5,
};

/// Says more about an event: which path found it and how the address relates to known blocks.
pub const Detail = enum(u32) {
    none = 0,
    /// The pointer lies inside a live block; `related` is the block's start.
    interior_pointer = 1,
    /// The pointer was never issued by this allocator (or too long ago to remember).
    unknown_pointer = 2,
    /// The block is still held in the quarantine.
    in_quarantine = 3,
    /// The block already left the quarantine; it was found in the record of recent frees.
    recently_freed = 4,
    /// Found while reallocating.
    on_realloc = 5,
    /// Found by an explicit check of every live block.
    on_check = 6,
    /// Found when the block left the quarantine.
    on_evict = 7,
    /// Found while freeing.
    on_free = 8,
};

pub const Event = extern struct {
    id: u64,
    kind: u32,
    detail: u32,
    address: u64,
    size: u64,
    sequence: u64,
    tag: u32,
    _reserved: u32 = 0,
    /// Meaning depends on `detail`: the block start for an interior pointer, the offset of
    /// the first damaged byte for overruns, underruns and writes after free.
    related: u64,
};

pub const capacity = 1024;

pub const Log = struct {
    ring: [capacity]Event = undefined,
    /// Number of events ever recorded; also the id the next event gets plus one.
    recorded: u64 = 0,

    pub fn record(self: *Log, event: Event) u64 {
        self.recorded += 1;
        var stored = event;
        stored.id = self.recorded;
        self.ring[@intCast((self.recorded - 1) % capacity)] = stored;
        return stored.id;
    }

    /// Copies events with id > `after` into `out`, oldest first; returns how many.
    pub fn copyAfter(self: *const Log, after: u64, out: []Event) usize {
        const oldest_kept = if (self.recorded > capacity) self.recorded - capacity + 1 else 1;
        var id = @max(after + 1, oldest_kept);
        var written: usize = 0;
        while (id <= self.recorded and written < out.len) : (id += 1) {
            out[written] = self.ring[@intCast((id - 1) % capacity)];
            written += 1;
        }
        return written;
    }
};

test "log keeps the newest events and numbers them" {
    var log: Log = .{};
    for (0..capacity + 5) |i| {
        _ = log.record(.{ .id = 0, .kind = @intFromEnum(Kind.overrun), .detail = 0, .address = i, .size = 0, .sequence = 0, .tag = 0, .related = 0 });
    }
    var out: [8]Event = undefined;
    // Events 1..5 were overwritten, so asking from 0 starts at 6.
    try std.testing.expectEqual(@as(usize, 8), log.copyAfter(0, &out));
    try std.testing.expectEqual(@as(u64, 6), out[0].id);
    try std.testing.expectEqual(@as(u64, 5), out[0].address);
    try std.testing.expectEqual(@as(usize, 2), log.copyAfter(capacity + 3, &out));
    try std.testing.expectEqual(@as(u64, capacity + 5), out[1].id);
    try std.testing.expectEqual(@as(usize, 0), log.copyAfter(capacity + 5, &out));
}
