// The runtime adapters behave the same under `deno test` and `bun test`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allocator, registry, runtime } from "../mod.ts";
import { libraryPath, libraryPathVariable } from "../src/native/library.ts";
import { capacityVariable } from "../src/registry.ts";
import { runModule } from "./helpers.ts";

/** Runs a module in a fresh process of the current runtime with extra environment. */

const modUrl = new URL("../mod.ts", import.meta.url).href;

describe("runtime adapter", () => {
  it("names the runtime it runs on", () => {
    assert.equal(runtime.name, "Bun" in globalThis ? "bun" : "deno");
  });

  it("maps native memory as a live view", () => {
    const address = allocator.malloc(16, { zero: true });
    const first = new Uint8Array(runtime.view(address, 16));
    const second = new Uint8Array(runtime.view(address, 16));
    first[3] = 77;
    assert.equal(second[3], 77);
    allocator.free(address);
  });

  it("reads C strings and takes addresses of JS memory", () => {
    const bytes = new TextEncoder().encode("héllo\0");
    const copy = new Uint8Array(bytes);
    const address = runtime.addressOf(copy);
    assert.ok(address > 0);
    assert.equal(runtime.cString(address), "héllo");
  });

  it("takes addresses of small typed arrays that reading their buffer later does not move", () => {
    for (let length = 1; length <= 8; length++) {
      const words = new Int32Array(length);
      const address = runtime.addressOf(words);
      void words.buffer;
      assert.equal(runtime.addressOf(words), address);
      assert.equal(runtime.addressOf(new Uint8Array(words.buffer)), address);
    }
  });

  it("says truly whether a native pointer is the address itself", () => {
    // Wrappers store the address as their pointer up front when the runtime says so (Bun).
    const pointer = runtime.nativePointer(0x7000);
    assert.equal(pointer === 0x7000, runtime.nativePointerIsAddress);
    assert.equal(runtime.addressOfNative(pointer), 0x7000);
  });

  it("has a no-pointer value that no pointer equals, a number where pointers are numbers", () => {
    for (const address of [0, 0x7000, 0x7fff_ffff_f000]) assert.notEqual(runtime.nativePointer(address), runtime.noPointer);
    assert.equal(typeof runtime.noPointer === "number", runtime.nativePointerIsAddress);
  });

  it("refuses null addresses for views and strings", () => {
    assert.throws(() => runtime.view(0, 8), RangeError);
    assert.throws(() => runtime.cString(0), RangeError);
  });

  it("makes JS functions callable from native code", () => {
    const seen: number[][] = [];
    const callback = runtime.callback({ parameters: ["pointer", "pointer"], result: "void" }, (a, b) => {
      seen.push([a, b]);
    });
    try {
      // The registry calls a destructor natively, with the object's pointer and context.
      registry.destroy(registry.create(0x7000, { destructor: callback.pointer, context: 0x7fff_ffff_fff0 }));
      assert.deepEqual(seen, [[0x7000, 0x7fff_ffff_fff0]], "64-bit arguments arrive as exact numbers");
    } finally {
      callback.close();
    }
  });

  it("finds libcustody next to the module", () => {
    assert.match(libraryPath(), new RegExp(`zig-out/lib/${runtime.sharedLibraryName("custody")}$`));
  });

  it("loads libcustody from CUSTODY_LIB when set", () => {
    const good = runModule(`import { runtime } from "${modUrl}"; console.log("loaded", runtime.name);`, {
      [libraryPathVariable]: libraryPath(),
    });
    assert.equal(good.status, 0, good.output);
    assert.match(good.output, /loaded/);
    const bad = runModule(`import "${modUrl}";`, { [libraryPathVariable]: "/nonexistent/libcustody.so" });
    assert.notEqual(bad.status, 0);
    assert.match(bad.output, /Cannot load libcustody from \/nonexistent\/libcustody\.so/);
  });

  it("reserves the registry capacity CUSTODY_REGISTRY_CAPACITY asks for", () => {
    const sized = runModule(`import { registry } from "${modUrl}"; console.log("capacity", registry.registryCapacity());`, {
      [capacityVariable]: "1000",
    });
    assert.match(sized.output, /capacity 1000/, sized.output);
    const bad = runModule(`import "${modUrl}";`, { [capacityVariable]: "lots" });
    assert.notEqual(bad.status, 0);
    assert.match(bad.output, /INVALID_ARGUMENT|must be an integer/);
  });
});
