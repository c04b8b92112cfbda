// Rewrites the ownership table and diagram in README.md from src/ownership/transitions.ts.
// Run: deno run --allow-read --allow-write scripts/render-ownership.ts
import { withSection } from "../src/ownership/render.ts";

const path = new URL("../README.md", import.meta.url);
Deno.writeTextFileSync(path, withSection(Deno.readTextFileSync(path)));
