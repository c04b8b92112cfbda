//! A blocking mutex for code that has no `std.Io` at hand.
//!
//! custody is a shared library called from whatever thread the host uses (the JS thread,
//! Deno's nonblocking worker threads, native threads of the library being bound), so it
//! cannot receive an `Io` instance. `std.Io.Threaded` exposes the futex-based mutex
//! operations without the vtable; this wraps them so callers write `lock()`/`unlock()`.
const std = @import("std");

pub const Lock = struct {
    mutex: std.Io.Mutex = .init,

    pub fn lock(self: *Lock) void {
        std.Io.Threaded.mutexLockUncancelable(&self.mutex);
    }

    pub fn unlock(self: *Lock) void {
        std.Io.Threaded.mutexUnlock(&self.mutex);
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
