//! widgets: a small native widget toolkit, written to exercise every ownership rule custody
//! enforces. custody's tests, demo, fuzz campaigns and benchmarks bind it from JS.
//!
//! - Windows own their child widgets: destroying a window destroys its children first.
//! - Factories (`wg_window_new`, `wg_button_new`, `wg_label_new`) return new objects the
//!   caller owns; `wg_widget_clone` does too.
//! - `wg_window_add_child` steals a widget into a window; `wg_window_detach` gives it back;
//!   `wg_window_destroy_child` destroys it, so the caller's pointer dies; `wg_window_adopt`
//!   moves a widget into a window and returns it, now the window's child.
//! - `wg_widget_close` destroys a widget behind the caller's back (a user closed it), and
//!   tells custody.
//! - A renderer keeps its source widget's address without owning it: the source must be
//!   kept alive for as long as the renderer may render.
//! - `wg_window_emit` hands the window's event callback an event that is destroyed as soon
//!   as the callback returns.
//! - `wg_window_close_hidden` destroys hidden children behind the caller's back, and tells
//!   custody (`custody_notify_destroyed_address`); `wg_window_close_hidden_async` does the
//!   same from a native thread.
//! - `wg_window_layout` is slow on purpose: the operation to call nonblocking.
//!
//! Every object starts with a magic word that is poisoned when it is destroyed, and every
//! entry point checks it: a call that reaches this library with a dead object is counted
//! (`wg_dead_calls`) and refused, never acted on. That counter is how custody's tests prove
//! that no use of an invalid object ever reaches native code. Memory comes from custody's
//! tracked allocator under the tag "widgets", so leaks and misuse show in its reports.
//!
//! All entry points are serialized by one library lock; it is released while an event
//! callback runs, so the callback may call back in.
const std = @import("std");

/// A futex mutex from std, without an `Io` (this is a shared library called from any thread).
const Lock = struct {
    mutex: std.Io.Mutex = .init,

    fn lock(self: *Lock) void {
        std.Io.Threaded.mutexLockUncancelable(&self.mutex);
    }

    fn unlock(self: *Lock) void {
        std.Io.Threaded.mutexUnlock(&self.mutex);
    }
};

extern fn custody_alloc_tagged(size: usize, alignment: usize, tag: u32) ?*anyopaque;
extern fn custody_free(pointer: ?*anyopaque) void;
extern fn custody_intern(text: ?[*]const u8, len: usize) i64;
extern fn custody_notify_destroyed_address(pointer: usize) i32;

pub const alive_magic: u32 = 0x5749_4447; // "WIDG"
pub const dead_magic: u32 = 0xDEAD_DEAD;
pub const text_capacity = 64;

pub const ok: i32 = 0;
/// An argument was a dead object (counted in `wg_dead_calls`).
pub const dead_object: i32 = -1;
/// An argument was of the wrong kind or in the wrong relation (not this window's child).
pub const invalid_argument: i32 = -2;
pub const out_of_memory: i32 = -3;

pub const Kind = enum(u32) { unset = 0, window = 1, button = 2, label = 3, renderer = 4, event = 5 };

const Header = extern struct {
    magic: u32,
    kind: Kind,
};

pub const Widget = extern struct {
    header: Header,
    parent: ?*Window,
    next_sibling: ?*Widget,
    visible: u32,
    text_len: u32,
    text: [text_capacity]u8,
};

pub const EventCallback = *const fn (event: *Event, context: ?*anyopaque) callconv(.c) i32;

pub const Window = extern struct {
    header: Header,
    first_child: ?*Widget,
    child_count: u32,
    title_len: u32,
    title: [text_capacity]u8,
    callback: ?EventCallback,
    callback_context: ?*anyopaque,
};

pub const Renderer = extern struct {
    header: Header,
    source: ?*Widget,
    frames: u64,
};

pub const Event = extern struct {
    header: Header,
    kind: u32,
    window: *Window,
    target: ?*Widget,
};

var guard: Lock = .{};
var dead_calls = std.atomic.Value(u64).init(0);
var live_objects = std.atomic.Value(i64).init(0);
var tag_id = std.atomic.Value(u32).init(0);
var threads_guard: Lock = .{};
var threads: [16]?std.Thread = @splat(null);

fn tag() u32 {
    const known = tag_id.load(.monotonic);
    if (known != 0) return known;
    const name = "widgets";
    const id: u32 = @intCast(@max(0, custody_intern(name.ptr, name.len)));
    tag_id.store(id, .monotonic);
    return id;
}

fn create(comptime T: type, kind: Kind) ?*T {
    const memory = custody_alloc_tagged(@sizeOf(T), @alignOf(T), tag()) orelse return null;
    const object: *T = @ptrCast(@alignCast(memory));
    object.* = std.mem.zeroes(T);
    object.header = .{ .magic = alive_magic, .kind = kind };
    _ = live_objects.fetchAdd(1, .monotonic);
    return object;
}

fn destroy(object: anytype) void {
    object.header.magic = dead_magic;
    _ = live_objects.fetchSub(1, .monotonic);
    custody_free(object);
}

/// Whether an object of `kind` is a `T`: buttons and labels are both widgets.
fn isA(comptime T: type, kind: Kind) bool {
    return switch (T) {
        Widget => kind == .button or kind == .label,
        Window => kind == .window,
        Renderer => kind == .renderer,
        Event => kind == .event,
        else => @compileError("not a widgets object type"),
    };
}

/// The object behind `pointer` if it is alive and a `T`; a dead one is counted.
fn alive(comptime T: type, pointer: ?*T) error{ Dead, Invalid }!*T {
    const object = pointer orelse return error.Invalid;
    if (object.header.magic != alive_magic) {
        _ = dead_calls.fetchAdd(1, .monotonic);
        return error.Dead;
    }
    if (!isA(T, object.header.kind)) return error.Invalid;
    return object;
}

fn widgetOf(pointer: ?*Widget) error{ Dead, Invalid }!*Widget {
    return alive(Widget, pointer);
}

fn status(err: error{ Dead, Invalid }) i32 {
    return switch (err) {
        error.Dead => dead_object,
        error.Invalid => invalid_argument,
    };
}

fn setText(buffer: *[text_capacity]u8, len: *u32, text: ?[*]const u8, text_len: usize) void {
    const n = if (text == null) 0 else @min(text_len, text_capacity);
    if (text) |t| @memcpy(buffer[0..n], t[0..n]);
    len.* = @intCast(n);
}

fn unlinkChild(window: *Window, widget: *Widget) void {
    var link = &window.first_child;
    while (link.*) |child| : (link = &child.next_sibling) {
        if (child == widget) {
            link.* = widget.next_sibling;
            window.child_count -= 1;
            break;
        }
    }
    widget.parent = null;
    widget.next_sibling = null;
}

fn linkChild(window: *Window, widget: *Widget) void {
    widget.parent = window;
    widget.next_sibling = window.first_child;
    window.first_child = widget;
    window.child_count += 1;
}

// ---- widgets ----

export fn wg_button_new(text: ?[*]const u8, len: usize) ?*Widget {
    const widget = create(Widget, .button) orelse return null;
    widget.visible = 1;
    setText(&widget.text, &widget.text_len, text, len);
    return widget;
}

export fn wg_label_new(text: ?[*]const u8, len: usize) ?*Widget {
    const widget = create(Widget, .label) orelse return null;
    widget.visible = 1;
    setText(&widget.text, &widget.text_len, text, len);
    return widget;
}

/// A new button already in `parent` (a constructor with a parent, as in Qt): the window owns it.
export fn wg_button_new_in(parent: ?*Window, text: ?[*]const u8, len: usize) ?*Widget {
    guard.lock();
    defer guard.unlock();
    const window = alive(Window, parent) catch return null;
    const widget = wg_button_new(text, len) orelse return null;
    linkChild(window, widget);
    return widget;
}

/// A new, unparented copy; the caller owns it.
export fn wg_widget_clone(pointer: ?*Widget) ?*Widget {
    guard.lock();
    defer guard.unlock();
    const original = widgetOf(pointer) catch return null;
    const copy = create(Widget, original.header.kind) orelse return null;
    copy.visible = original.visible;
    copy.text = original.text;
    copy.text_len = original.text_len;
    return copy;
}

/// Copies the text into `out`; returns its length or a negative status.
export fn wg_widget_text(pointer: ?*Widget, out: ?[*]u8, capacity: usize) i64 {
    guard.lock();
    defer guard.unlock();
    const widget = widgetOf(pointer) catch |err| return status(err);
    if (out) |o| @memcpy(o[0..@min(capacity, widget.text_len)], widget.text[0..@min(capacity, widget.text_len)]);
    return widget.text_len;
}

export fn wg_widget_set_text(pointer: ?*Widget, text: ?[*]const u8, len: usize) i32 {
    guard.lock();
    defer guard.unlock();
    const widget = widgetOf(pointer) catch |err| return status(err);
    setText(&widget.text, &widget.text_len, text, len);
    return ok;
}

export fn wg_widget_set_visible(pointer: ?*Widget, visible: u32) i32 {
    guard.lock();
    defer guard.unlock();
    const widget = widgetOf(pointer) catch |err| return status(err);
    widget.visible = @intFromBool(visible != 0);
    return ok;
}

/// The window the widget belongs to (borrowed), or null.
export fn wg_widget_parent(pointer: ?*Widget) ?*Window {
    guard.lock();
    defer guard.unlock();
    const widget = widgetOf(pointer) catch return null;
    return widget.parent;
}

fn destroyWidget(widget: *Widget) void {
    if (widget.parent) |window| unlinkChild(window, widget);
    destroy(widget);
}

/// Destroys the widget behind the caller's back, as when a user closes it, and tells custody.
export fn wg_widget_close(pointer: ?*Widget) i32 {
    guard.lock();
    defer guard.unlock();
    const widget = widgetOf(pointer) catch |err| return status(err);
    const address = @intFromPtr(widget);
    destroyWidget(widget);
    _ = custody_notify_destroyed_address(address);
    return ok;
}

/// Destroys a widget the caller owns; a parented widget is first taken out of its window.
export fn wg_widget_destroy(pointer: ?*Widget) void {
    guard.lock();
    defer guard.unlock();
    destroyWidget(widgetOf(pointer) catch return);
}

// ---- windows ----

export fn wg_window_new(title: ?[*]const u8, len: usize) ?*Window {
    const window = create(Window, .window) orelse return null;
    setText(&window.title, &window.title_len, title, len);
    return window;
}

var shared_window: Window = .{
    .header = .{ .magic = alive_magic, .kind = .window },
    .first_child = null,
    .child_count = 0,
    .title_len = 0,
    .title = @splat(0),
    .callback = null,
    .callback_context = null,
};

/// The application's one shared window: static memory, never to be freed (borrowed).
export fn wg_window_shared() *Window {
    return &shared_window;
}

/// Destroys the window and, first, every child it owns.
export fn wg_window_destroy(pointer: ?*Window) void {
    guard.lock();
    defer guard.unlock();
    const window = alive(Window, pointer) catch return;
    while (window.first_child) |child| {
        window.first_child = child.next_sibling;
        destroy(child);
    }
    destroy(window);
}

/// Steals `widget` into the window (moving it from another window if it had one). Adding
/// it to the window it is in changes nothing.
export fn wg_window_add_child(window_pointer: ?*Window, widget_pointer: ?*Widget) i32 {
    guard.lock();
    defer guard.unlock();
    const window = alive(Window, window_pointer) catch |err| return status(err);
    const widget = widgetOf(widget_pointer) catch |err| return status(err);
    if (widget.parent == window) return ok;
    if (widget.parent) |previous| unlinkChild(previous, widget);
    linkChild(window, widget);
    return ok;
}

/// Moves `widget` into `window` (out of any other window) and returns it: the result, not the
/// argument, says that the window owns it now. NULL if either is dead.
export fn wg_window_adopt(window_pointer: ?*Window, widget_pointer: ?*Widget) ?*Widget {
    guard.lock();
    defer guard.unlock();
    const window = alive(Window, window_pointer) catch return null;
    const widget = widgetOf(widget_pointer) catch return null;
    if (widget.parent != window) {
        if (widget.parent) |previous| unlinkChild(previous, widget);
        linkChild(window, widget);
    }
    return widget;
}

/// Steals two widgets into the window, all or nothing: if either is dead, the same as the
/// other, or already in another window, neither is added.
export fn wg_window_add_children(window_pointer: ?*Window, first_pointer: ?*Widget, second_pointer: ?*Widget) i32 {
    guard.lock();
    defer guard.unlock();
    const window = alive(Window, window_pointer) catch |err| return status(err);
    const widgets = [2]*Widget{
        widgetOf(first_pointer) catch |err| return status(err),
        widgetOf(second_pointer) catch |err| return status(err),
    };
    if (widgets[0] == widgets[1]) return invalid_argument;
    for (widgets) |widget| if (widget.parent != null and widget.parent != window) return invalid_argument;
    for (widgets) |widget| if (widget.parent == null) linkChild(window, widget);
    return ok;
}

/// Takes `widget` out of the window: the caller owns it again.
export fn wg_window_detach(window_pointer: ?*Window, widget_pointer: ?*Widget) i32 {
    guard.lock();
    defer guard.unlock();
    _ = takeChild(window_pointer, widget_pointer) catch |err| return status(err);
    return ok;
}

/// Destroys one child of the window: every pointer to it is dead afterwards.
export fn wg_window_destroy_child(window_pointer: ?*Window, widget_pointer: ?*Widget) i32 {
    guard.lock();
    defer guard.unlock();
    destroy(takeChild(window_pointer, widget_pointer) catch |err| return status(err));
    return ok;
}

/// Unlinks `widget` from the window, which must be its parent; the caller holds the lock.
fn takeChild(window_pointer: ?*Window, widget_pointer: ?*Widget) error{ Dead, Invalid }!*Widget {
    const window = try alive(Window, window_pointer);
    const widget = try widgetOf(widget_pointer);
    if (widget.parent != window) return error.Invalid;
    unlinkChild(window, widget);
    return widget;
}

export fn wg_window_child_count(pointer: ?*Window) i64 {
    guard.lock();
    defer guard.unlock();
    const window = alive(Window, pointer) catch |err| return status(err);
    return window.child_count;
}

/// The child at `index`, newest first (borrowed: the window owns it), or null.
export fn wg_window_child_at(pointer: ?*Window, index: u32) ?*Widget {
    guard.lock();
    defer guard.unlock();
    const window = alive(Window, pointer) catch return null;
    var child = window.first_child;
    var i: u32 = 0;
    while (child) |c| : (child = c.next_sibling) {
        if (i == index) return c;
        i += 1;
    }
    return null;
}

fn closeHidden(window: *Window) i64 {
    var closed: i64 = 0;
    var link = &window.first_child;
    while (link.*) |child| {
        if (child.visible != 0) {
            link = &child.next_sibling;
            continue;
        }
        link.* = child.next_sibling;
        window.child_count -= 1;
        const address = @intFromPtr(child);
        destroy(child);
        // Behind the caller's back: say so, so custody invalidates the caller's handle.
        _ = custody_notify_destroyed_address(address);
        closed += 1;
    }
    return closed;
}

/// Destroys every hidden child, telling custody about each; returns how many.
export fn wg_window_close_hidden(pointer: ?*Window) i64 {
    guard.lock();
    defer guard.unlock();
    const window = alive(Window, pointer) catch |err| return status(err);
    return closeHidden(window);
}

fn closeHiddenThread(window: *Window) void {
    guard.lock();
    defer guard.unlock();
    const live = alive(Window, window) catch return;
    _ = closeHidden(live);
}

/// `wg_window_close_hidden` on a native thread; `wg_join_threads` waits for it.
export fn wg_window_close_hidden_async(pointer: ?*Window) i32 {
    {
        guard.lock();
        defer guard.unlock();
        _ = alive(Window, pointer) catch |err| return status(err);
    }
    return spawn(closeHiddenThread, .{pointer.?});
}

/// Starts `function` on a native thread that `wg_join_threads` waits for.
fn spawn(comptime function: anytype, args: anytype) i32 {
    threads_guard.lock();
    defer threads_guard.unlock();
    for (&threads) |*slot| {
        if (slot.* != null) continue;
        slot.* = std.Thread.spawn(.{}, function, args) catch return out_of_memory;
        return ok;
    }
    return out_of_memory;
}

/// Waits for every thread `wg_window_close_hidden_async` started.
export fn wg_join_threads() void {
    threads_guard.lock();
    defer threads_guard.unlock();
    for (&threads) |*slot| {
        if (slot.*) |t| t.join();
        slot.* = null;
    }
}

/// Lays the children out, slowly (about a millisecond): the call to make nonblocking.
/// Returns how many children it laid out.
export fn wg_window_layout(pointer: ?*Window) i64 {
    guard.lock();
    defer guard.unlock();
    const window = alive(Window, pointer) catch |err| return status(err);
    var ts: std.c.timespec = .{ .sec = 0, .nsec = 1_000_000 };
    _ = std.c.nanosleep(&ts, null);
    return window.child_count;
}

// ---- events ----

export fn wg_window_on_event(pointer: ?*Window, callback: ?EventCallback, context: ?*anyopaque) i32 {
    guard.lock();
    defer guard.unlock();
    const window = alive(Window, pointer) catch |err| return status(err);
    window.callback = callback;
    window.callback_context = context;
    return ok;
}

/// Calls the window's callback with a new event about `target` (which may be null); the
/// event is destroyed when the callback returns. Returns the callback's result.
export fn wg_window_emit(pointer: ?*Window, kind: u32, target: ?*Widget) i32 {
    guard.lock();
    const window = alive(Window, pointer) catch |err| {
        guard.unlock();
        return status(err);
    };
    if (target) |t| _ = widgetOf(t) catch |err| {
        guard.unlock();
        return status(err);
    };
    const callback = window.callback orelse {
        guard.unlock();
        return ok;
    };
    const context = window.callback_context;
    const event = create(Event, .event) orelse {
        guard.unlock();
        return out_of_memory;
    };
    event.* = .{ .header = event.header, .kind = kind, .window = window, .target = target };
    guard.unlock();
    const result = callback(event, context);
    guard.lock();
    defer guard.unlock();
    destroy(event);
    return result;
}

var thread_result = std.atomic.Value(i32).init(0);

/// An event for the window's callback, made under the lock, with the callback to call.
const PendingEvent = struct { event: *Event, callback: EventCallback, context: ?*anyopaque };

fn prepareEvent(pointer: ?*Window, kind: u32) error{ Dead, Invalid, OutOfMemory }!PendingEvent {
    guard.lock();
    defer guard.unlock();
    const window = try alive(Window, pointer);
    const callback = window.callback orelse return error.Invalid;
    const event = create(Event, .event) orelse return error.OutOfMemory;
    event.* = .{ .header = event.header, .kind = kind, .window = window, .target = null };
    return .{ .event = event, .callback = callback, .context = window.callback_context };
}

/// Runs on a native thread: calls the callback, keeps its result, destroys the event.
fn emitThread(pending: PendingEvent) void {
    thread_result.store(pending.callback(pending.event, pending.context), .release);
    guard.lock();
    defer guard.unlock();
    destroy(pending.event);
}

fn prepareStatus(err: error{ Dead, Invalid, OutOfMemory }) i32 {
    return switch (err) {
        error.OutOfMemory => out_of_memory,
        else => |e| status(e),
    };
}

/// Calls the window's callback with a new event on a native thread and returns at once;
/// the event is destroyed when the callback returns. `wg_join_threads` waits for the
/// thread, `wg_thread_result` then gives the callback's result.
export fn wg_window_emit_on_thread(pointer: ?*Window, kind: u32) i32 {
    const pending = prepareEvent(pointer, kind) catch |err| return prepareStatus(err);
    const started = spawn(emitThread, .{pending});
    if (started != ok) {
        guard.lock();
        defer guard.unlock();
        destroy(pending.event);
    }
    return started;
}

/// `wg_window_emit_on_thread`, then waits for the thread: returns the callback's result.
/// The calling thread is blocked meanwhile, so a callback that needs it cannot run.
export fn wg_window_emit_from_thread(pointer: ?*Window, kind: u32) i32 {
    const pending = prepareEvent(pointer, kind) catch |err| return prepareStatus(err);
    const thread = std.Thread.spawn(.{}, emitThread, .{pending}) catch {
        guard.lock();
        defer guard.unlock();
        destroy(pending.event);
        return out_of_memory;
    };
    thread.join();
    return thread_result.load(.acquire);
}

/// The result of the callback the last emitting thread called.
export fn wg_thread_result() i32 {
    return thread_result.load(.acquire);
}

export fn wg_event_kind(pointer: ?*Event) i64 {
    guard.lock();
    defer guard.unlock();
    const event = alive(Event, pointer) catch |err| return status(err);
    return event.kind;
}

/// The widget the event is about (borrowed), or null.
export fn wg_event_target(pointer: ?*Event) ?*Widget {
    guard.lock();
    defer guard.unlock();
    const event = alive(Event, pointer) catch return null;
    return event.target;
}

pub const ChildCallback = *const fn (widget: *Widget, context: ?*anyopaque) callconv(.c) i32;

/// Calls `callback` with each child (newest first, at most 64), outside the library lock so
/// it may call back in; stops at the first non-zero result and returns it.
export fn wg_window_for_each_child(pointer: ?*Window, callback: ?ChildCallback, context: ?*anyopaque) i32 {
    var children: [64]*Widget = undefined;
    var count: usize = 0;
    {
        guard.lock();
        defer guard.unlock();
        const window = alive(Window, pointer) catch |err| return status(err);
        var child = window.first_child;
        while (child) |c| : (child = c.next_sibling) {
            if (count == children.len) break;
            children[count] = c;
            count += 1;
        }
    }
    const call = callback orelse return invalid_argument;
    for (children[0..count]) |c| {
        const result = call(c, context);
        if (result != 0) return result;
    }
    return ok;
}

// ---- renderers ----

/// A renderer of `source`, which it does not own: keep the source alive while it renders.
export fn wg_renderer_new(source: ?*Widget) ?*Renderer {
    guard.lock();
    defer guard.unlock();
    const widget = widgetOf(source) catch return null;
    const renderer = create(Renderer, .renderer) orelse return null;
    renderer.source = widget;
    return renderer;
}

/// Replaces the widget the renderer renders (null: none); it does not own either.
export fn wg_renderer_set_source(pointer: ?*Renderer, source: ?*Widget) i32 {
    guard.lock();
    defer guard.unlock();
    const renderer = alive(Renderer, pointer) catch |err| return status(err);
    renderer.source = if (source == null) null else widgetOf(source) catch |err| return status(err);
    return ok;
}

/// Renders a frame of the source; returns the frame count or a negative status (no source:
/// `invalid_argument`).
export fn wg_renderer_render(pointer: ?*Renderer) i64 {
    guard.lock();
    defer guard.unlock();
    const renderer = alive(Renderer, pointer) catch |err| return status(err);
    _ = widgetOf(renderer.source) catch |err| return status(err);
    renderer.frames += 1;
    return @intCast(renderer.frames);
}

export fn wg_renderer_destroy(pointer: ?*Renderer) void {
    guard.lock();
    defer guard.unlock();
    const renderer = alive(Renderer, pointer) catch return;
    destroy(renderer);
}

// ---- counters ----

/// Calls that reached this library with a dead object, since the process started.
export fn wg_dead_calls() u64 {
    return dead_calls.load(.monotonic);
}

/// Objects created and not yet destroyed.
export fn wg_live_objects() i64 {
    return live_objects.load(.monotonic);
}

// ---- tests ----

const testing = std.testing;

test {
    // The tests link custody's core into the test binary; the shared library links libcustody.
    _ = @import("custody");
}

fn textOf(widget: *Widget) []const u8 {
    return widget.text[0..widget.text_len];
}

test "windows own their children and destroy them first" {
    const before = wg_live_objects();
    const window = wg_window_new("main", 4).?;
    const ok_button = wg_button_new("OK", 2).?;
    const cancel = wg_label_new("Cancel", 6).?;
    try testing.expectEqual(ok, wg_window_add_child(window, ok_button));
    try testing.expectEqual(ok, wg_window_add_child(window, cancel));
    try testing.expectEqual(ok, wg_window_add_child(window, cancel));
    try testing.expectEqual(@as(i64, 2), wg_window_child_count(window));
    try testing.expectEqual(cancel, wg_window_child_at(window, 0).?);
    try testing.expectEqual(window, wg_widget_parent(ok_button).?);
    wg_window_destroy(window);
    try testing.expectEqual(before, wg_live_objects());
}

test "detach gives a child back; destroy_child destroys it; clone copies" {
    const before = wg_live_objects();
    const window = wg_window_new("w", 1).?;
    const a = wg_button_new("a", 1).?;
    const b = wg_button_new("b", 1).?;
    _ = wg_window_add_child(window, a);
    _ = wg_window_add_child(window, b);
    try testing.expectEqual(ok, wg_window_detach(window, a));
    try testing.expectEqual(invalid_argument, wg_window_detach(window, a));
    try testing.expectEqual(@as(?*Window, null), wg_widget_parent(a));
    try testing.expectEqual(ok, wg_window_destroy_child(window, b));
    const copy = wg_widget_clone(a).?;
    try testing.expectEqualStrings("a", textOf(copy));
    try testing.expect(copy != a);
    wg_widget_destroy(a);
    wg_widget_destroy(copy);
    wg_window_destroy(window);
    try testing.expectEqual(before, wg_live_objects());
}

test "moving a child between windows" {
    const first = wg_window_new("1", 1).?;
    const second = wg_window_new("2", 1).?;
    const widget = wg_button_new("x", 1).?;
    _ = wg_window_add_child(first, widget);
    _ = wg_window_add_child(second, widget);
    try testing.expectEqual(@as(i64, 0), wg_window_child_count(first));
    try testing.expectEqual(second, wg_widget_parent(widget).?);
    wg_window_destroy(first);
    try testing.expectEqual(second, wg_widget_parent(widget).?);
    wg_window_destroy(second);
}

test "events die when the callback returns" {
    const Recorder = struct {
        var seen: ?*Event = null;
        fn callback(event: *Event, context: ?*anyopaque) callconv(.c) i32 {
            seen = event;
            const expected: *u32 = @ptrCast(@alignCast(context.?));
            return if (wg_event_kind(event) == expected.*) 7 else -7;
        }
    };
    const window = wg_window_new("w", 1).?;
    var kind: u32 = 3;
    try testing.expectEqual(ok, wg_window_on_event(window, Recorder.callback, &kind));
    try testing.expectEqual(@as(i32, 7), wg_window_emit(window, 3, null));
    const dead_before = wg_dead_calls();
    try testing.expectEqual(@as(i64, dead_object), wg_event_kind(Recorder.seen));
    try testing.expectEqual(dead_before + 1, wg_dead_calls());
    wg_window_destroy(window);
}

test "a renderer uses its source; a dead source is a counted dead call" {
    const source = wg_label_new("image", 5).?;
    const renderer = wg_renderer_new(source).?;
    try testing.expectEqual(@as(i64, 1), wg_renderer_render(renderer));
    wg_widget_destroy(source);
    const dead_before = wg_dead_calls();
    try testing.expectEqual(@as(i64, dead_object), wg_renderer_render(renderer));
    try testing.expectEqual(dead_before + 1, wg_dead_calls());
    try testing.expectEqual(ok, wg_renderer_set_source(renderer, null));
    try testing.expectEqual(@as(i64, invalid_argument), wg_renderer_render(renderer));
    wg_renderer_destroy(renderer);
}

test "dead objects are refused and counted at every entry point" {
    const window = wg_window_new("w", 1).?;
    const widget = wg_button_new("b", 1).?;
    wg_widget_destroy(widget);
    const dead_before = wg_dead_calls();
    try testing.expectEqual(dead_object, wg_window_add_child(window, widget));
    try testing.expectEqual(dead_object, wg_widget_set_text(widget, "x", 1));
    try testing.expectEqual(@as(?*Widget, null), wg_widget_clone(widget));
    wg_widget_destroy(widget);
    try testing.expectEqual(dead_before + 4, wg_dead_calls());
    wg_window_destroy(window);
    try testing.expectEqual(@as(i64, dead_object), wg_window_child_count(window));
}

test "adopt moves a widget into a window and returns it" {
    const first = wg_window_new("1", 1).?;
    const second = wg_window_new("2", 1).?;
    const widget = wg_button_new("x", 1).?;
    try testing.expectEqual(widget, wg_window_adopt(first, widget).?);
    try testing.expectEqual(widget, wg_window_adopt(first, widget).?);
    try testing.expectEqual(@as(i64, 1), wg_window_child_count(first));
    try testing.expectEqual(widget, wg_window_adopt(second, widget).?);
    try testing.expectEqual(@as(i64, 0), wg_window_child_count(first));
    try testing.expectEqual(second, wg_widget_parent(widget).?);
    wg_window_destroy(first);
    wg_window_destroy(second);
    const dead_before = wg_dead_calls();
    try testing.expectEqual(@as(?*Widget, null), wg_window_adopt(first, widget));
    try testing.expectEqual(dead_before + 1, wg_dead_calls());
}

test "close destroys a widget and unlinks it from its window" {
    const before = wg_live_objects();
    const window = wg_window_new("w", 1).?;
    const child = wg_button_new("c", 1).?;
    const loose = wg_label_new("l", 1).?;
    _ = wg_window_add_child(window, child);
    try testing.expectEqual(ok, wg_widget_close(child));
    try testing.expectEqual(ok, wg_widget_close(loose));
    try testing.expectEqual(@as(i64, 0), wg_window_child_count(window));
    wg_window_destroy(window);
    try testing.expectEqual(before, wg_live_objects());
}

test "close_hidden destroys hidden children, also from a native thread" {
    const before = wg_live_objects();
    const window = wg_window_new("w", 1).?;
    const shown = wg_button_new("s", 1).?;
    const hidden = wg_button_new("h", 1).?;
    const hidden_too = wg_button_new("h2", 2).?;
    for ([_]*Widget{ shown, hidden, hidden_too }) |w| _ = wg_window_add_child(window, w);
    _ = wg_widget_set_visible(hidden, 0);
    try testing.expectEqual(@as(i64, 1), wg_window_close_hidden(window));
    _ = wg_widget_set_visible(hidden_too, 0);
    try testing.expectEqual(ok, wg_window_close_hidden_async(window));
    wg_join_threads();
    try testing.expectEqual(@as(i64, 1), wg_window_child_count(window));
    try testing.expectEqual(@as(i64, 1), wg_window_layout(window));
    wg_window_destroy(window);
    try testing.expectEqual(before, wg_live_objects());
}

test "add_children adds both or neither" {
    const before = wg_live_objects();
    const window = wg_window_new("w", 1).?;
    const other = wg_window_new("o", 1).?;
    const a = wg_button_new("a", 1).?;
    const b = wg_button_new("b", 1).?;
    _ = wg_window_add_child(other, b);
    try testing.expectEqual(invalid_argument, wg_window_add_children(window, a, b));
    try testing.expectEqual(@as(?*Window, null), wg_widget_parent(a));
    try testing.expectEqual(ok, wg_window_detach(other, b));
    try testing.expectEqual(ok, wg_window_add_children(window, a, b));
    try testing.expectEqual(@as(i64, 2), wg_window_child_count(window));
    wg_window_destroy(window);
    wg_window_destroy(other);
    try testing.expectEqual(before, wg_live_objects());
}

test "events emitted on a native thread reach the callback and die after it" {
    const Recorder = struct {
        fn callback(event: *Event, _: ?*anyopaque) callconv(.c) i32 {
            return @intCast(wg_event_kind(event) * 2);
        }
    };
    const before = wg_live_objects();
    const window = wg_window_new("w", 1).?;
    try testing.expectEqual(invalid_argument, wg_window_emit_from_thread(window, 1));
    _ = wg_window_on_event(window, Recorder.callback, null);
    try testing.expectEqual(@as(i32, 6), wg_window_emit_from_thread(window, 3));
    try testing.expectEqual(ok, wg_window_emit_on_thread(window, 4));
    wg_join_threads();
    try testing.expectEqual(@as(i32, 8), wg_thread_result());
    wg_window_destroy(window);
    try testing.expectEqual(before, wg_live_objects());
}
