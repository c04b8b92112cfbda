//! The lock guarding custody's tables.
//!
//! custody is a shared library called from whatever thread the host uses (the JS thread,
//! Deno's nonblocking worker threads, native threads of the library being bound), so it
//! cannot receive an `std.Io` instance. Its critical sections are a few dozen
//! instructions, so a test-and-test-and-set spin lock that yields the CPU after a short
//! spin beats a futex mutex: locking is one atomic compare-and-swap and unlocking a plain
//! release store, where the futex mutex needs a second atomic swap to learn whether to
//! wake a waiter.
const std = @import("std");

pub const Lock = struct {
    state: std.atomic.Value(u32) = .init(unlocked),

    const unlocked = 0;
    const locked = 1;
    const spins_before_yield = 64;

    pub fn lock(self: *Lock) void {
        while (self.state.cmpxchgWeak(unlocked, locked, .acquire, .monotonic) != null) {
            var spins: u32 = 0;
            while (self.state.load(.monotonic) != unlocked) {
                if (spins < spins_before_yield) {
                    std.atomic.spinLoopHint();
                    spins += 1;
                } else {
                    std.Thread.yield() catch {};
                }
            }
        }
    }

    pub fn unlock(self: *Lock) void {
        self.state.store(unlocked, .release);
    }
};

test "lock excludes concurrent writers" {
    const Shared = struct {
        guard: Lock = .{},
        counter: u64 = 0,

        fn work(self: *@This()) void {
            for (0..10_000) |_| {
                self.guard.lock();
                defer self.guard.unlock();
                self.counter += 1;
            }
        }
    };
    var shared: Shared = .{};
    var threads: [4]std.Thread = undefined;
    for (&threads) |*t| t.* = try std.Thread.spawn(.{}, Shared.work, .{&shared});
    for (threads) |t| t.join();
    try std.testing.expectEqual(@as(u64, 40_000), shared.counter);
}
