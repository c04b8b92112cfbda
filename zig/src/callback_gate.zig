//! Callback gates: thread-checked trampolines in front of the JS runtimes' callbacks.
//!
//! A runtime's callback (Deno `UnsafeCallback`, Bun `JSCallback`) may only run on the JS
//! thread that made it: Bun crashes when native code calls it from another thread, Deno
//! blocks the caller until its event loop gets to it, and Bun's thread-safe variant runs
//! it later, after the native caller has gone on with a garbage result. So custody never
//! gives native code the runtime's callback: it gives a gate, a trampoline that checks
//! the calling thread. On the thread that opened the gate, the call goes straight through.
//! From any other thread the gate's mode decides:
//!
//! - `refuse`: the call is not run; it is counted and the caller gets the fallback result.
//! - `wait`: the call is queued for the owner thread and the caller waits for its result,
//!   which the owner thread computes when it drains the queue (`drain`).
//! - `queue`: the call is queued and the caller goes on at once with the fallback (for
//!   void functions that must run on the owner thread, such as JS destructors).
//!
//! A call through a closed gate never reaches JS: it is counted as stale and gets the
//! fallback. Gates pass six pointer-sized integer arguments and an integer result, which
//! covers every callback whose parameters and result are integers or pointers (no floats).
const std = @import("std");
const Lock = @import("lock.zig").Lock;

pub const capacity = 1024;

pub const Mode = enum(u32) { refuse = 0, wait = 1, queue = 2 };

pub const Target = *const fn (usize, usize, usize, usize, usize, usize) callconv(.c) usize;

/// Counters JS reads from mapped memory, without a call.
pub const Counters = extern struct {
    /// Calls from a foreign thread to a gate in `refuse` mode.
    refused: u64 = 0,
    /// Calls from a foreign thread queued for the owner thread.
    queued: u64 = 0,
    /// Queued calls run by a drain.
    drained: u64 = 0,
    /// Calls through a closed gate, and queued calls whose gate closed before they ran.
    stale: u64 = 0,
    /// Queued calls not yet run or dropped.
    pending: u64 = 0,
};

const Gate = struct {
    target: ?Target = null,
    owner: usize = 0,
    mode: Mode = .refuse,
    fallback: usize = 0,
    open: bool = false,
};

const Call = struct {
    gate: u32,
    args: [6]usize,
    result: usize = 0,
    done: std.atomic.Value(u32) = .init(0),
    /// Allocated by the gate (`queue` mode) and freed by whoever finishes it; otherwise on the waiting caller's stack.
    heap: bool,
    next: ?*Call = null,
};

var guard: Lock = .{};
var gates: [capacity]Gate = @splat(.{});
var next_gate: u32 = 0;
var queue_head: ?*Call = null;
pub var counters: Counters = .{};

threadlocal var thread_marker: u8 = 0;

/// An identity of the calling thread: the address of its own copy of a thread-local.
fn currentThread() usize {
    return @intFromPtr(&thread_marker);
}

fn count(field: *u64) void {
    _ = @atomicRmw(u64, field, .Add, 1, .monotonic);
}

fn uncount(field: *u64) void {
    _ = @atomicRmw(u64, field, .Sub, 1, .monotonic);
}

fn trampolineFor(comptime index: u32) Target {
    return &struct {
        fn call(a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) callconv(.c) usize {
            return enter(index, .{ a, b, c, d, e, f });
        }
    }.call;
}

const trampolines: [capacity]Target = blk: {
    @setEvalBranchQuota(capacity * 100);
    var table: [capacity]Target = undefined;
    for (0..capacity) |i| table[i] = trampolineFor(i);
    break :blk table;
};

fn enter(index: u32, args: [6]usize) usize {
    guard.lock();
    const gate = gates[index];
    guard.unlock();
    if (!gate.open) {
        count(&counters.stale);
        return gate.fallback;
    }
    if (gate.owner == currentThread()) return gate.target.?(args[0], args[1], args[2], args[3], args[4], args[5]);
    switch (gate.mode) {
        .refuse => {
            count(&counters.refused);
            return gate.fallback;
        },
        .wait => {
            var call: Call = .{ .gate = index, .args = args, .heap = false };
            push(&call);
            while (call.done.load(.acquire) == 0) {
                var pause: std.c.timespec = .{ .sec = 0, .nsec = 20_000 };
                _ = std.c.nanosleep(&pause, null);
            }
            return call.result;
        },
        .queue => {
            const call = std.heap.c_allocator.create(Call) catch {
                count(&counters.refused);
                return gate.fallback;
            };
            call.* = .{ .gate = index, .args = args, .heap = true };
            push(call);
            return gate.fallback;
        },
    }
}

fn push(call: *Call) void {
    guard.lock();
    defer guard.unlock();
    // Newest first; `drain` runs them oldest first.
    call.next = queue_head;
    queue_head = call;
    count(&counters.queued);
    count(&counters.pending);
}

fn finish(call: *Call, result: usize) void {
    uncount(&counters.pending);
    if (call.heap) {
        std.heap.c_allocator.destroy(call);
        return;
    }
    call.result = result;
    call.done.store(1, .release);
}

/// Opens a gate in front of `target` for the calling thread; returns its index, or null
/// when every gate is open. Gates are handed out round-robin, so a closed one is reused
/// as late as possible.
pub fn open(target: Target, mode: Mode, fallback: usize) ?u32 {
    guard.lock();
    defer guard.unlock();
    for (0..capacity) |step| {
        const index: u32 = @intCast((next_gate + step) % capacity);
        if (gates[index].open) continue;
        gates[index] = .{ .target = target, .owner = currentThread(), .mode = mode, .fallback = fallback, .open = true };
        next_gate = (index + 1) % capacity;
        return index;
    }
    return null;
}

/// The address native code calls for gate `index`.
pub fn address(index: u32) usize {
    return @intFromPtr(trampolines[index]);
}

/// Closes the gate: later calls get the fallback, and queued calls to it are dropped (a
/// waiting caller gets the fallback). Only the owner thread closes a gate.
pub fn close(index: u32) error{InvalidArgument}!void {
    var dropped: ?*Call = null;
    {
        guard.lock();
        defer guard.unlock();
        if (index >= capacity or !gates[index].open or gates[index].owner != currentThread()) return error.InvalidArgument;
        gates[index].open = false;
        var link = &queue_head;
        while (link.*) |call| {
            if (call.gate != index) {
                link = &call.next;
                continue;
            }
            link.* = call.next;
            call.next = dropped;
            dropped = call;
        }
    }
    const fallback = gates[index].fallback;
    while (dropped) |call| {
        dropped = call.next;
        count(&counters.stale);
        finish(call, fallback);
    }
}

/// Runs every queued call whose gate the calling thread owns, oldest first, outside the
/// lock (the callback may call back into custody, even drain again). Returns how many ran.
pub fn drain() u32 {
    var ran: u32 = 0;
    const here = currentThread();
    while (true) {
        var taken: ?*Call = null;
        var gate: Gate = undefined;
        {
            guard.lock();
            defer guard.unlock();
            var link = &queue_head;
            var oldest: ?*?*Call = null;
            while (link.*) |call| : (link = &call.next) {
                if (gates[call.gate].owner == here) oldest = link;
            }
            if (oldest) |found| {
                taken = found.*;
                found.* = taken.?.next;
                gate = gates[taken.?.gate];
            }
        }
        const call = taken orelse return ran;
        const a = call.args;
        finish(call, gate.target.?(a[0], a[1], a[2], a[3], a[4], a[5]));
        count(&counters.drained);
        ran += 1;
    }
}

// ---- tests ----

const testing = std.testing;

const Probe = struct {
    var calls = std.atomic.Value(u32).init(0);
    fn add(a: usize, b: usize, _: usize, _: usize, _: usize, _: usize) callconv(.c) usize {
        _ = calls.fetchAdd(1, .monotonic);
        return a + b;
    }
};

fn callFromThread(pointer: usize, out: *usize) void {
    const f: *const fn (usize, usize) callconv(.c) usize = @ptrFromInt(pointer);
    out.* = f(2, 3);
}

test "the owner thread calls straight through; a foreign thread is refused" {
    const index = open(&Probe.add, .refuse, 99).?;
    defer close(index) catch {};
    const f: *const fn (usize, usize) callconv(.c) usize = @ptrFromInt(address(index));
    try testing.expectEqual(@as(usize, 5), f(2, 3));
    const refused = counters.refused;
    var result: usize = 0;
    const thread = try std.Thread.spawn(.{}, callFromThread, .{ address(index), &result });
    thread.join();
    try testing.expectEqual(@as(usize, 99), result);
    try testing.expectEqual(refused + 1, counters.refused);
}

test "a waiting foreign call runs when the owner drains" {
    const index = open(&Probe.add, .wait, 0).?;
    defer close(index) catch {};
    var result: usize = 0;
    const thread = try std.Thread.spawn(.{}, callFromThread, .{ address(index), &result });
    while (drain() == 0) std.Thread.yield() catch {};
    thread.join();
    try testing.expectEqual(@as(usize, 5), result);
}

test "queued calls run at the next drain; a closed gate drops them and refuses calls" {
    const index = open(&Probe.add, .queue, 7).?;
    var result: usize = 0;
    const before = Probe.calls.load(.monotonic);
    const thread = try std.Thread.spawn(.{}, callFromThread, .{ address(index), &result });
    thread.join();
    try testing.expectEqual(@as(usize, 7), result);
    try testing.expectEqual(@as(u32, 1), drain());
    try testing.expectEqual(before + 1, Probe.calls.load(.monotonic));
    const again = try std.Thread.spawn(.{}, callFromThread, .{ address(index), &result });
    again.join();
    try close(index);
    try testing.expectEqual(@as(u32, 0), drain());
    const f: *const fn (usize, usize) callconv(.c) usize = @ptrFromInt(address(index));
    try testing.expectEqual(@as(usize, 7), f(1, 1));
    try testing.expectEqual(before + 1, Probe.calls.load(.monotonic));
    try testing.expectError(error.InvalidArgument, close(index));
}
