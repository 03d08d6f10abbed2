import { defineConfig } from "drizzle-kit";

// Only `drizzle-kit generate` uses this: the app never connects through drizzle-kit.
export default defineConfig({
  dialect: "sqlite",
  schema: "./lib/store/schema.ts",
  out: "./migrations",
});
