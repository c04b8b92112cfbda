//! Native allocator benchmark: a tracked malloc+free pair against a glibc pair, measured
//! in one run, interleaved round by round so that both see the same machine state.
//!
//! Workload: a ring of live blocks; each step frees the oldest and allocates a new one, with
//! sizes cycling through 8..512 bytes. The tracked side runs with its default settings
//! (quarantine on, 16-byte canary, poisoning on). Prints one JSON object on stdout.
const std = @import("std");
const custody = @import("custody");

const ring_size = 256;
const steps_per_round = 400_000;
const rounds = 9;

const Allocator = struct {
    malloc: *const fn (usize) callconv(.c) ?*anyopaque,
    free: *const fn (?*anyopaque) callconv(.c) void,
};

fn glibcMalloc(size: usize) callconv(.c) ?*anyopaque {
    return std.c.malloc(size);
}
fn glibcFree(pointer: ?*anyopaque) callconv(.c) void {
    std.c.free(pointer);
}

const glibc: Allocator = .{ .malloc = glibcMalloc, .free = glibcFree };
const tracked: Allocator = .{ .malloc = custody.custody_malloc, .free = custody.custody_free };

fn nowNs() u64 {
    var ts: std.c.timespec = undefined;
    _ = std.c.clock_gettime(.MONOTONIC, &ts);
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

/// Nanoseconds per malloc+free pair.
fn measure(a: Allocator) f64 {
    var ring: [ring_size]?*anyopaque = @splat(null);
    for (&ring, 0..) |*slot, i| slot.* = a.malloc(8 + (i * 24) % 505);
    const start = nowNs();
    for (0..steps_per_round) |i| {
        const slot = i % ring_size;
        a.free(ring[slot]);
        const p = a.malloc(8 + (i * 24) % 505);
        // Touch the block as a real caller would.
        @as(*volatile u8, @ptrCast(p.?)).* = 1;
        ring[slot] = p;
    }
    const elapsed = nowNs() - start;
    for (ring) |p| a.free(p);
    return @as(f64, @floatFromInt(elapsed)) / steps_per_round;
}

fn median(values: []f64) f64 {
    std.mem.sort(f64, values, {}, std.sort.asc(f64));
    return values[values.len / 2];
}

pub fn main() !void {
    var glibc_ns: [rounds]f64 = undefined;
    var tracked_ns: [rounds]f64 = undefined;
    _ = measure(glibc); // warm up both
    _ = measure(tracked);
    for (0..rounds) |r| {
        glibc_ns[r] = measure(glibc);
        tracked_ns[r] = measure(tracked);
    }
    if (std.c.getenv("CUSTODY_BENCH_VARIANTS") != null) {
        const variants = [_]struct { name: []const u8, config: custody.Config }{
            .{ .name = "no quarantine", .config = .{ .quarantine_max_count = 0 } },
            .{ .name = "no poison", .config = .{ .poison = 0 } },
            .{ .name = "no canary", .config = .{ .canary_size = 0 } },
            .{ .name = "bare", .config = .{ .quarantine_max_count = 0, .canary_size = 0, .poison = 0 } },
            .{ .name = "small quarantine", .config = .{ .quarantine_max_count = 64 } },
        };
        for (variants) |v| {
            _ = custody.custody_alloc_configure(&v.config);
            var ns: [rounds]f64 = undefined;
            for (&ns) |*x| x.* = measure(tracked);
            std.debug.print("{s}: {d:.1} ns\n", .{ v.name, median(&ns) });
        }
        const defaults: custody.Config = .{};
        _ = custody.custody_alloc_configure(&defaults);
    }
    const g = median(&glibc_ns);
    const t = median(&tracked_ns);
    const stats = custody.custody_stats();
    std.debug.assert(stats.violations() == 0);
    var config: custody.Config = undefined;
    custody.custody_alloc_config(&config);
    var buffer: [1024]u8 = undefined;
    const json = try std.fmt.bufPrint(&buffer,
        \\{{"glibc_pair_ns":{d:.2},"tracked_pair_ns":{d:.2},"tracked_pair_vs_glibc":{d:.3},"glibc_pair_ns_min":{d:.2},"glibc_pair_ns_max":{d:.2},"tracked_pair_ns_min":{d:.2},"tracked_pair_ns_max":{d:.2},"rounds":{d},"pairs_per_round":{d},"quarantine_max_count":{d},"canary_size":{d},"poison":{d}}}
        \\
    , .{ g, t, t / g, glibc_ns[0], glibc_ns[rounds - 1], tracked_ns[0], tracked_ns[rounds - 1], rounds, steps_per_round, config.quarantine_max_count, config.canary_size, config.poison });
    _ = std.c.write(1, json.ptr, json.len);
}
