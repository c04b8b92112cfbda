//! A seeded random driver that runs the tracked allocator and the capsule registry against
//! a plain model of what they should do, and compares the two after every step.
//!
//! The model is deliberately naive (lists and linear scans), so that it is obviously right
//! and any disagreement points at the real implementation. The seed is the test runner's
//! `--seed`, printed on failure, so a failing run can be replayed exactly.
const std = @import("std");
const testing = std.testing;
const Stats = @import("stats.zig").Stats;
const Tracker = @import("tracked_allocator.zig").Tracker;
const guard_byte = @import("tracked_allocator.zig").guard_byte;
const registry_module = @import("registry.zig");
const Registry = registry_module.Registry;
const Handle = registry_module.Handle;

const steps = 4000;

const AllocatorModel = struct {
    const Block = struct { address: usize, size: usize };
    live: std.ArrayList(Block) = .empty,
    freed: std.ArrayList(usize) = .empty,
    expected: Stats = .{},

    fn deinit(self: *AllocatorModel) void {
        self.live.deinit(testing.allocator);
        self.freed.deinit(testing.allocator);
    }

    fn liveBytes(self: *const AllocatorModel) u64 {
        var sum: u64 = 0;
        for (self.live.items) |b| sum += b.size;
        return sum;
    }

    /// A new block at [address, address + size) makes old frees inside it live memory again.
    fn forgetFreed(self: *AllocatorModel, address: usize, size: usize) void {
        var i: usize = 0;
        while (i < self.freed.items.len) {
            const old = self.freed.items[i];
            if (old >= address and old < address + @max(size, 1)) _ = self.freed.swapRemove(i) else i += 1;
        }
    }
};

fn runAllocator(seed: u64) !void {
    var stats: Stats = .{};
    var tracker: Tracker = .init(testing.allocator, &stats);
    defer tracker.deinit();
    try tracker.configure(.{ .quarantine_max_count = 64, .canary_size = 8 });
    var model: AllocatorModel = .{};
    defer model.deinit();
    var prng: std.Random.DefaultPrng = .init(seed);
    const random = prng.random();

    for (0..steps) |_| {
        switch (random.uintLessThan(u8, 10)) {
            0...3 => {
                const size = random.uintLessThan(usize, 300);
                const alignment = @as(usize, 1) << random.uintLessThan(u6, 8);
                const p = tracker.alloc(size, alignment, random.int(u8)).?;
                try testing.expect(@intFromPtr(p) % alignment == 0);
                model.forgetFreed(@intFromPtr(p), size);
                try model.live.append(testing.allocator, .{ .address = @intFromPtr(p), .size = size });
            },
            4...5 => if (model.live.items.len > 0) {
                const block = model.live.swapRemove(random.uintLessThan(usize, model.live.items.len));
                try testing.expectEqual(.freed, tracker.free(@ptrFromInt(block.address)));
                try model.freed.append(testing.allocator, block.address);
            },
            6 => if (model.freed.items.len > 0) {
                const address = model.freed.items[random.uintLessThan(usize, model.freed.items.len)];
                try testing.expectEqual(.reported, tracker.free(@ptrFromInt(address)));
                model.expected.double_frees += 1;
            },
            7 => {
                const address = if (model.live.items.len > 0 and random.boolean()) blk: {
                    const block = model.live.items[random.uintLessThan(usize, model.live.items.len)];
                    if (block.size < 2) break :blk 0x10;
                    break :blk block.address + 1 + random.uintLessThan(usize, block.size - 1);
                } else 0x10 + 16 * random.uintLessThan(usize, 1000);
                try testing.expectEqual(.reported, tracker.free(@ptrFromInt(address)));
                model.expected.invalid_frees += 1;
            },
            8 => if (model.live.items.len > 0) {
                // Overrun by one byte past the end, then free: exactly one overrun is reported.
                const block = model.live.swapRemove(random.uintLessThan(usize, model.live.items.len));
                const bytes: [*]u8 = @ptrFromInt(block.address);
                bytes[block.size] = ~guard_byte;
                try testing.expectEqual(.freed, tracker.free(bytes));
                model.expected.overruns += 1;
                try model.freed.append(testing.allocator, block.address);
            },
            else => try testing.expectEqual(@as(u64, 0), tracker.checkAll()),
        }
        try testing.expectEqual(@as(u64, model.live.items.len), stats.live_count);
        try testing.expectEqual(model.liveBytes(), stats.live_bytes);
        try testing.expectEqual(model.expected.double_frees, stats.double_frees);
        try testing.expectEqual(model.expected.invalid_frees, stats.invalid_frees);
        try testing.expectEqual(model.expected.overruns, stats.overruns);
        try testing.expectEqual(@as(u64, 0), stats.underruns + stats.writes_after_free);
    }
    for (model.live.items) |block| _ = tracker.free(@ptrFromInt(block.address));
    tracker.flushQuarantine();
    try testing.expectEqual(@as(u64, 0), stats.live_count);
    try testing.expectEqual(@as(u64, 0), stats.writes_after_free);
}

const RegistryModel = struct {
    const Node = struct {
        handle: Handle,
        alive: bool = true,
        parent: ?usize = null,
        keep_alive: u32 = 0,
        /// Destroyed while kept alive: the destructor is still owed.
        pending: bool = false,
        destructor_owed: bool = true,
    };
    nodes: std.ArrayList(Node) = .empty,

    fn isDescendant(self: *const RegistryModel, node: usize, ancestor: usize) bool {
        var current: ?usize = node;
        while (current) |c| : (current = self.nodes.items[c].parent) {
            if (c == ancestor) return true;
        }
        return false;
    }

    fn liveCount(self: *const RegistryModel) u64 {
        var count: u64 = 0;
        for (self.nodes.items) |n| count += @intFromBool(n.alive);
        return count;
    }

    /// Kills the subtree of `root`; `notify` spares the root's own destructor.
    fn kill(self: *RegistryModel, root: usize, notify: bool) void {
        for (self.nodes.items, 0..) |*n, i| {
            if (!n.alive or !self.isDescendant(i, root)) continue;
            n.alive = false;
            if (notify and i == root) n.destructor_owed = false;
            if (n.keep_alive > 0) n.pending = true;
        }
        for (self.nodes.items) |*n| if (!n.alive) {
            n.parent = null;
        };
    }
};

/// Destructor context: how often each object's destructor ran, indexed by its pointer.
var destructor_runs: [steps + 1]u8 = undefined;

fn countingDestructor(pointer: ?*anyopaque, _: ?*anyopaque) callconv(.c) void {
    destructor_runs[@intFromPtr(pointer)] += 1;
}

fn expectStatus(expected: ?registry_module.Error, result: registry_module.Error!void) !void {
    if (expected) |e| return testing.expectError(e, result);
    try result;
}

fn runRegistry(seed: u64) !void {
    var stats: Stats = .{};
    var registry: Registry = try .init(testing.allocator, &stats, .{ .capacity = 64, .max_generation = 9 });
    defer registry.deinit();
    var model: RegistryModel = .{};
    defer model.nodes.deinit(testing.allocator);
    @memset(&destructor_runs, 0);
    var prng: std.Random.DefaultPrng = .init(seed);
    const random = prng.random();
    var created: usize = 0;

    for (0..steps) |_| {
        const pick = if (model.nodes.items.len > 0) random.uintLessThan(usize, model.nodes.items.len) else null;
        switch (random.uintLessThan(u8, 8)) {
            0, 1 => {
                const parent = if (pick) |p| (if (model.nodes.items[p].alive and random.boolean()) p else null) else null;
                const parent_handle: Handle = if (parent) |p| model.nodes.items[p].handle else .none;
                const pointer = created + 1;
                if (registry.create(pointer, 1, countingDestructor, null, parent_handle)) |handle| {
                    created += 1;
                    try model.nodes.append(testing.allocator, .{ .handle = handle, .parent = parent });
                } else |err| {
                    // Only a full table (capacity 64, slots retired after a few generations) may refuse.
                    try testing.expectEqual(error.TableFull, err);
                }
            },
            2 => if (pick) |i| {
                const n = model.nodes.items[i];
                try expectStatus(if (n.alive) null else error.StaleHandle, registry.destroy(n.handle));
                if (n.alive) model.kill(i, false);
            },
            3 => if (pick) |i| {
                const n = model.nodes.items[i];
                try expectStatus(if (n.alive) null else error.StaleHandle, registry.notifyDestroyed(n.handle));
                if (n.alive) model.kill(i, true);
            },
            4 => if (pick) |i| {
                const p = random.uintLessThan(usize, model.nodes.items.len);
                const child = model.nodes.items[i];
                const parent = model.nodes.items[p];
                const expected: ?registry_module.Error = if (!child.alive or !parent.alive)
                    error.StaleHandle
                else if (model.isDescendant(p, i)) error.Cycle else null;
                try expectStatus(expected, registry.setParent(child.handle, parent.handle));
                if (expected == null) model.nodes.items[i].parent = p;
            },
            5 => if (pick) |i| {
                const n = model.nodes.items[i];
                try expectStatus(if (n.alive) null else error.StaleHandle, registry.setParent(n.handle, .none));
                if (n.alive) model.nodes.items[i].parent = null;
            },
            6 => if (pick) |i| {
                const n = model.nodes.items[i];
                try expectStatus(if (n.alive) null else error.StaleHandle, registry.keepAlive(n.handle));
                if (n.alive) model.nodes.items[i].keep_alive += 1;
            },
            else => if (pick) |i| {
                const n = &model.nodes.items[i];
                const expected: ?registry_module.Error = if (n.keep_alive > 0)
                    null
                else if (n.alive) error.NotKeptAlive else error.StaleHandle;
                try expectStatus(expected, registry.dropKeepAlive(n.handle));
                if (expected == null) {
                    n.keep_alive -= 1;
                    if (n.keep_alive == 0) n.pending = false;
                }
            },
        }
        try testing.expectEqual(model.liveCount(), stats.capsules_live);
        for (model.nodes.items, 0..) |n, pointer_minus_one| {
            const ran = destructor_runs[pointer_minus_one + 1];
            const expected_runs: u8 = if (n.alive or n.pending or !n.destructor_owed) 0 else 1;
            try testing.expectEqual(expected_runs, ran);
            if (n.alive) {
                const info = try registry.info(n.handle);
                const parent: Handle = if (n.parent) |p| model.nodes.items[p].handle else .none;
                try testing.expectEqual(parent, info.parent);
            }
        }
    }
    for (model.nodes.items) |*n| {
        while (n.keep_alive > 0) : (n.keep_alive -= 1) try registry.dropKeepAlive(n.handle);
        if (n.alive) registry.destroy(n.handle) catch |err| try testing.expectEqual(error.StaleHandle, err);
    }
    try testing.expectEqual(@as(u64, 0), stats.capsules_live);
}

test "tracked allocator agrees with its model under a random workload" {
    for (0..3) |i| try runAllocator(@as(u64, std.testing.random_seed) *% 7919 +% i);
}

test "capsule registry agrees with its model under a random workload" {
    for (0..3) |i| try runRegistry(@as(u64, std.testing.random_seed) *% 7919 +% i);
}
