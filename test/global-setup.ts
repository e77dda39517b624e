/**
 * Once per test run: generate the tiny models, and start one Milvus Lite and
 * one Milvus standalone that every test file shares (each file uses its own
 * collections).
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
  const [lite, standalone] = await Promise.all([startLite(), startStandalone()]);
  servers.push(lite, standalone);
  project.provide("liteAddress", lite.address);
  project.provide("standaloneAddress", standalone.address);
}

export async function teardown(): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
}
