//! The statistics block: one `extern struct` at a fixed address that JS maps once and
//! then reads without a call. Every field is a u64 counter written under the owning
//! component's lock (allocator or registry) with a plain 8-byte aligned store, so a
//! reader on another thread sees each field whole, though not a consistent snapshot
//! across fields.
const std = @import("std");

pub const Stats = extern struct {
    // Tracked allocator.
    live_count: u64 = 0,
    live_bytes: u64 = 0,
    peak_count: u64 = 0,
    peak_bytes: u64 = 0,
    total_allocs: u64 = 0,
    total_frees: u64 = 0,
    total_bytes: u64 = 0,
    failed_allocs: u64 = 0,
    quarantine_count: u64 = 0,
    quarantine_bytes: u64 = 0,
    double_frees: u64 = 0,
    invalid_frees: u64 = 0,
    overruns: u64 = 0,
    underruns: u64 = 0,
    writes_after_free: u64 = 0,
    events_total: u64 = 0,
    // Capsule registry.
    capsules_live: u64 = 0,
    capsules_peak: u64 = 0,
    capsules_created: u64 = 0,
    capsules_destroyed: u64 = 0,
    capsules_notified: u64 = 0,
    destructors_run: u64 = 0,
    destructors_deferred: u64 = 0,
    slots_retired: u64 = 0,
    stale_handles: u64 = 0,
    forged_handles: u64 = 0,
    name_mismatches: u64 = 0,
    cycles_refused: u64 = 0,
    table_full: u64 = 0,

    pub fn violations(self: *const Stats) u64 {
        return self.double_frees + self.invalid_frees + self.overruns + self.underruns + self.writes_after_free;
    }
};

test "every stats field is a u64 so JS can read it at i * 8" {
    const info = @typeInfo(Stats).@"struct";
    inline for (info.field_names, info.field_types, 0..) |name, FieldType, i| {
        try std.testing.expectEqual(u64, FieldType);
        try std.testing.expectEqual(i * 8, @offsetOf(Stats, name));
    }
}
