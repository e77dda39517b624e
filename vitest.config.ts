import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Real servers and models: give start-up room, and run files one at a time on small machines.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: "forks",
    reporters: ["default", "json"],
    outputFile: { json: ".cache/test-results.json" },
  },
});
