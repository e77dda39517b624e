/**
 * Once per test run: generate the tiny models, and start one Milvus Lite and
 * one Milvus standalone that every test file shares (each file uses its own
 * collections). SVGVEC_TEST_STANDALONE_ADDRESS points the run at a standalone
 * that is already running instead.
 */
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { ensureTinyModels } from "./helpers/models.js";
import { type TestMilvus, startLite, startStandalone } from "./helpers/milvus.js";

declare module "vitest" {
  export interface ProvidedContext {
    liteAddress: string;
    standaloneAddress: string;
  }
}

const servers: TestMilvus[] = [];

export async function setup(project: TestProject): Promise<void> {
  await ensureTinyModels();
  // Only one standalone fits a machine (its etcd takes port 2379): runs side by side can share one.
  const shared = process.env.SVGVEC_TEST_STANDALONE_ADDRESS;
  const [lite, standalone] = await Promise.all([
    startLite(),
    shared ? Promise.resolve({ address: shared, kind: "standalone" as const, stop: async () => {} }) : startStandalone(),
  ]);
  servers.push(lite, standalone);
  project.provide("liteAddress", lite.address);
  project.provide("standaloneAddress", standalone.address);
}

export async function teardown(): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
}
