/**
 * custody's demo: the same script under Deno and Bun (`make demo` runs both).
 *
 * It commits the three classic memory errors through the tracked allocator (a double
 * free, an invalid free, an overrun) and shows that each is reported with its kind,
 * address, size and tag while the process keeps running; then it shows the registry's
 * generational handles turning a use after destroy into a typed error.
 *
 * @module
 */
import { allocator, CustodyError, registry, runtime, stats } from "../mod.ts";

const hex = (n: number) => `0x${n.toString(16)}`;

function report(title: string, action: () => void) {
  const lastId = allocator.events().at(-1)?.id ?? 0;
  action();
  const [event] = allocator.events(lastId);
  console.log(`${title}`);
  if (event === undefined) throw new Error(`${title}: nothing was reported`);
  console.log(
    `  reported ${event.kind} (${event.detail}) at ${hex(event.address)}, size ${event.size}, tag ${event.tag}` +
      (event.detail === "interior_pointer" ? `, inside the block at ${hex(event.related)}` : "") +
      (event.kind === "overrun" ? `, first damaged byte at offset ${event.size + event.related}` : ""),
  );
}

console.log(`custody on ${runtime.name}\n`);

// 1. A double free.
const image = allocator.malloc(48, { tag: "demo/image" });
allocator.free(image);
report("1. free(image) twice", () => allocator.free(image));

// 2. An invalid free: a pointer into the middle of a live block.
const row = allocator.malloc(64, { tag: "demo/row" });
report("2. free(row + 8)", () => allocator.free(row + 8));

// 3. An overrun: one byte written past the end, found when the block is freed.
const name = allocator.malloc(10, { tag: "demo/name" });
new Uint8Array(runtime.view(name, 11))[10] = 0x21;
report("3. write name[10] of a 10-byte block, then free(name)", () => allocator.free(name));

allocator.free(row);
console.log("\n   ...and the process is still running.\n");

// 4. A stale handle: the registry refuses it before any native code runs.
const window = registry.create(0x1000, { typeName: registry.typeName("Window") });
const button = registry.create(0x2000, { typeName: registry.typeName("Button"), parent: window });
registry.destroy(window);
console.log("4. destroy(window), then use its child button");
try {
  registry.pointerOf(button, registry.typeName("Button"));
} catch (error) {
  if (!(error instanceof CustodyError)) throw error;
  console.log(`  ${error.code}: ${error.message}`);
}

const s = stats();
console.log(
  `\nstats: ${s.doubleFrees} double free, ${s.invalidFrees} invalid free, ${s.overruns} overrun, ` +
    `${s.liveCount} blocks live, ${s.capsulesLive} capsules live`,
);
