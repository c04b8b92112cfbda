//! A hash map keyed by native address, built for constant insert/remove churn.
//!
//! `std.HashMapUnmanaged` marks removed slots with tombstones; under an allocator's
//! workload (every free removes, every malloc inserts) tombstones pile up until a lookup of
//! an absent key probes a long run of them, and a malloc+free pair measured 8 us instead of
//! tens of ns. This table uses linear probing with backward-shift deletion, so a removal
//! leaves the table exactly as if the key had never been inserted and probe lengths stay
//! short whatever the history. Address 0 marks an empty slot and cannot be a key.
const std = @import("std");

pub fn AddressMap(comptime V: type) type {
    return struct {
        const Self = @This();

        pub const Slot = struct { key: usize, value: V };
        pub const GetOrPut = struct { value_ptr: *V, found_existing: bool };

        slots: []Slot = &.{},
        len: usize = 0,
        /// 64 - log2(slots.len): Fibonacci hashing takes the top bits of the product.
        shift: u6 = 63,

        const min_capacity = 64;

        pub const empty: Self = .{};

        pub fn deinit(self: *Self, gpa: std.mem.Allocator) void {
            gpa.free(self.slots);
            self.* = .{};
        }

        fn home(self: *const Self, key: usize) usize {
            return @intCast((@as(u64, key) *% 0x9E3779B97F4A7C15) >> self.shift);
        }

        fn mask(self: *const Self) usize {
            return self.slots.len - 1;
        }

        fn find(self: *const Self, key: usize) ?usize {
            if (self.slots.len == 0 or key == 0) return null;
            var i = self.home(key);
            while (true) : (i = (i + 1) & self.mask()) {
                const k = self.slots[i].key;
                if (k == key) return i;
                if (k == 0) return null;
            }
        }

        pub fn getPtr(self: *const Self, key: usize) ?*V {
            const i = self.find(key) orelse return null;
            return &self.slots[i].value;
        }

        pub fn get(self: *const Self, key: usize) ?V {
            const i = self.find(key) orelse return null;
            return self.slots[i].value;
        }

        /// The value slot for `key`, inserting it (value undefined) if absent. The pointer is
        /// valid until the next insertion.
        pub fn getOrPut(self: *Self, gpa: std.mem.Allocator, key: usize) error{OutOfMemory}!GetOrPut {
            std.debug.assert(key != 0);
            // Keep the load at or below 1/2: runs stay short, and removal shifts at most a run.
            if ((self.len + 1) * 2 > self.slots.len) try self.grow(gpa);
            // One probe: the key's slot, or the empty slot that ends its run.
            var i = self.home(key);
            while (true) : (i = (i + 1) & self.mask()) {
                const k = self.slots[i].key;
                if (k == key) return .{ .value_ptr = &self.slots[i].value, .found_existing = true };
                if (k == 0) break;
            }
            self.slots[i].key = key;
            self.len += 1;
            return .{ .value_ptr = &self.slots[i].value, .found_existing = false };
        }

        /// The position of `key`, for `valueAt` and `removeAt`; valid until the map changes.
        pub fn indexOf(self: *const Self, key: usize) ?usize {
            return self.find(key);
        }

        pub fn valueAt(self: *const Self, index: usize) *V {
            return &self.slots[index].value;
        }

        /// Removes `key` and returns its value.
        pub fn fetchRemove(self: *Self, key: usize) ?V {
            const i = self.find(key) orelse return null;
            const value = self.slots[i].value;
            self.removeAt(i);
            return value;
        }

        fn claim(self: *Self, key: usize) usize {
            var i = self.home(key);
            while (self.slots[i].key != 0) i = (i + 1) & self.mask();
            self.slots[i].key = key;
            return i;
        }

        fn grow(self: *Self, gpa: std.mem.Allocator) error{OutOfMemory}!void {
            const capacity = @max(min_capacity, self.slots.len * 2);
            const fresh = try gpa.alloc(Slot, capacity);
            for (fresh) |*s| s.key = 0;
            const old = self.slots;
            self.slots = fresh;
            self.shift = @intCast(@as(u7, 64) - std.math.log2_int(usize, capacity));
            for (old) |s| {
                if (s.key != 0) self.slots[self.claim(s.key)].value = s.value;
            }
            gpa.free(old);
        }

        pub fn remove(self: *Self, key: usize) bool {
            self.removeAt(self.find(key) orelse return false);
            return true;
        }

        pub fn removeAt(self: *Self, index: usize) void {
            var hole = index;
            // Shift back every later entry of the run that may live at the hole, so that no
            // lookup ever stops early at the gap.
            var j = (hole + 1) & self.mask();
            while (self.slots[j].key != 0) : (j = (j + 1) & self.mask()) {
                const h = self.home(self.slots[j].key);
                if (((j -% h) & self.mask()) >= ((j -% hole) & self.mask())) {
                    self.slots[hole] = self.slots[j];
                    hole = j;
                }
            }
            self.slots[hole].key = 0;
            self.len -= 1;
        }

        pub const Iterator = struct {
            slots: []Slot,
            index: usize = 0,

            pub fn next(it: *Iterator) ?*Slot {
                while (it.index < it.slots.len) {
                    const s = &it.slots[it.index];
                    it.index += 1;
                    if (s.key != 0) return s;
                }
                return null;
            }
        };

        /// Visits every entry; the map must not change meanwhile.
        pub fn iterator(self: *const Self) Iterator {
            return .{ .slots = self.slots };
        }
    };
}

test "agrees with std's hash map under random churn" {
    const gpa = std.testing.allocator;
    var map: AddressMap(u64) = .empty;
    defer map.deinit(gpa);
    var reference: std.AutoHashMapUnmanaged(usize, u64) = .empty;
    defer reference.deinit(gpa);
    var prng: std.Random.DefaultPrng = .init(std.testing.random_seed);
    const random = prng.random();
    for (0..50_000) |step| {
        // A small key space forces collisions, long runs and wrap-around.
        const key = 1 + random.uintLessThan(usize, 700) * 16;
        if (random.boolean()) {
            const result = try map.getOrPut(gpa, key);
            const expected = try reference.getOrPut(gpa, key);
            try std.testing.expectEqual(expected.found_existing, result.found_existing);
            result.value_ptr.* = step;
            expected.value_ptr.* = step;
        } else {
            if (random.boolean()) {
                try std.testing.expectEqual(reference.remove(key), map.remove(key));
            } else {
                const expected = reference.fetchRemove(key);
                const removed = map.fetchRemove(key);
                try std.testing.expectEqual(expected != null, removed != null);
                if (expected) |kv| try std.testing.expectEqual(kv.value, removed.?);
            }
        }
        try std.testing.expectEqual(@as(usize, reference.count()), map.len);
    }
    var it = reference.iterator();
    while (it.next()) |entry| try std.testing.expectEqual(entry.value_ptr.*, map.get(entry.key_ptr.*).?);
    var visited: usize = 0;
    var mine = map.iterator();
    while (mine.next()) |slot| : (visited += 1) try std.testing.expectEqual(reference.get(slot.key).?, slot.value);
    try std.testing.expectEqual(map.len, visited);
    try std.testing.expectEqual(@as(?u64, null), map.get(0));
}
