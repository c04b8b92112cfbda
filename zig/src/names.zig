//! Interned names: capsule type names and allocation tags.
//!
//! A name is copied once into memory this table owns and is never freed, so a caller
//! may free its own buffer as soon as `intern` returns (the dynamic-name lifetime bug of
//! PyCapsule users cannot happen). Comparing names is comparing ids. Id 0 is the null
//! name, which is distinct from the empty string.
const std = @import("std");
const Lock = @import("lock.zig").Lock;

pub const null_id: u32 = 0;
pub const max_len = 4096;

pub const Error = error{ OutOfMemory, NameTooLong };

pub const Names = struct {
    gpa: std.mem.Allocator,
    guard: Lock = .{},
    ids: std.StringHashMapUnmanaged(u32) = .empty,
    /// Index = id; entry 0 stands for the null name.
    texts: std.ArrayList([:0]const u8) = .empty,

    pub fn init(gpa: std.mem.Allocator) Names {
        return .{ .gpa = gpa };
    }

    pub fn deinit(self: *Names) void {
        for (self.texts.items[@min(1, self.texts.items.len)..]) |stored| self.gpa.free(stored);
        self.texts.deinit(self.gpa);
        self.ids.deinit(self.gpa);
    }

    pub fn intern(self: *Names, name: []const u8) Error!u32 {
        if (name.len > max_len) return error.NameTooLong;
        self.guard.lock();
        defer self.guard.unlock();
        if (self.ids.get(name)) |id| return id;
        if (self.texts.items.len == 0) try self.texts.append(self.gpa, "");
        const copy = try self.gpa.dupeSentinel(u8, name, 0);
        errdefer self.gpa.free(copy);
        const id: u32 = @intCast(self.texts.items.len);
        try self.texts.append(self.gpa, copy);
        errdefer _ = self.texts.pop();
        try self.ids.put(self.gpa, copy, id);
        return id;
    }

    /// The id of `text` if it was interned before; never adds it.
    pub fn find(self: *Names, name: []const u8) ?u32 {
        self.guard.lock();
        defer self.guard.unlock();
        return self.ids.get(name);
    }

    /// The text of an id, or null for the null name and ids never issued.
    pub fn text(self: *Names, id: u32) ?[:0]const u8 {
        self.guard.lock();
        defer self.guard.unlock();
        if (id == null_id or id >= self.texts.items.len) return null;
        return self.texts.items[id];
    }
};

test "interning returns one id per distinct text and keeps its own copy" {
    var names: Names = .init(std.testing.allocator);
    defer names.deinit();
    var buffer = "Window".*;
    const window = try names.intern(&buffer);
    buffer[0] = 'X';
    try std.testing.expectEqual(window, try names.intern("Window"));
    try std.testing.expectEqualStrings("Window", names.text(window).?);
    const empty = try names.intern("");
    try std.testing.expect(empty != null_id and empty != window);
    try std.testing.expectEqual(@as(?[:0]const u8, null), names.text(null_id));
    try std.testing.expectEqual(@as(?u32, null), names.find("Button"));
    const too_long: [max_len + 1]u8 = @splat('a');
    try std.testing.expectError(error.NameTooLong, names.intern(&too_long));
}
