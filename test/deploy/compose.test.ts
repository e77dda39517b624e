/**
 * docker-compose.yml as Docker Compose reads it. `docker-compose config` renders the file with
 * .env.example filled in as its comments say (in a scratch folder, so a real .env is never read),
 * and the rendered services are checked: the four services, Milvus 2.5, a health check on each,
 * the start order, the secrets coming from .env, the published ports. No Docker engine is needed;
 * docker-compose itself is (CI installs it), and without it every test here fails.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REPO_ROOT } from "../../src/models/generate.js";
import { type TestApp, startTestApp } from "../helpers/app.js";
import { svgvec } from "../helpers/cli-run.js";

interface Healthcheck {
  test: string[];
  start_period?: string;
}

interface Service {
  image?: string;
  build?: string | { context: string };
  command?: string | string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  ports?: string[];
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
}

interface ComposeFile {
  services: Record<string, Service>;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

const COMPOSE_FILE = join(REPO_ROOT, "docker-compose.yml");
const ENV_EXAMPLE = readFileSync(join(REPO_ROOT, ".env.example"), "utf8");

/** The docker-compose program on PATH, or a failure that says how to get it. */
function dockerCompose(): string {
  const found = (process.env.PATH ?? "")
    .split(delimiter)
    .map((dir) => join(dir, "docker-compose"))
    .find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error("docker-compose is not installed, so docker-compose.yml cannot be checked: apt-get install docker-compose (.ci/run does so as root)");
  }
  return found;
}

function run(command: string, args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string> } = {}): Run {
  const r = spawnSync(command, args, { cwd: opts.cwd, input: opts.input, env: { ...process.env, ...opts.env }, encoding: "utf8", timeout: 60_000 });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * YAML to objects with docker-compose's own YAML parser: docker-compose 1.x is a Python program
 * that needs PyYAML, so the interpreter named on its first line has it.
 */
function parseYaml(program: string, text: string): unknown {
  const shebang = readFileSync(program, "utf8").split("\n", 1)[0] ?? "";
  if (!shebang.startsWith("#!")) throw new Error(`${program} is not the Python docker-compose 1.x (no #! line); install it with apt-get install docker-compose`);
  const [interpreter = "", ...interpreterArgs] = shebang.slice(2).trim().split(/\s+/);
  const parsed = run(interpreter, [...interpreterArgs, "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"], { input: text });
  if (parsed.status !== 0) throw new Error(`parsing YAML with ${shebang.slice(2)} failed: ${parsed.stderr}`);
  return JSON.parse(parsed.stdout) as unknown;
}

describe("docker-compose.yml", () => {
  let program: string;
  let scratch: string;
  /** The values written into the scratch .env for each variable .env.example leaves empty. */
  const filled = new Map<string, string>();
  let raw: ComposeFile;
  let rendered: ComposeFile;
  let t: TestApp | undefined;

  /** `docker-compose config` in the scratch folder, on a copy of the file, with the given .env. */
  const config = (envText: string, args: string[] = [], env: Record<string, string> = {}): Run => {
    writeFileSync(join(scratch, ".env"), envText);
    return run(program, ["--project-name", "svgvec", "config", ...args], { cwd: scratch, env });
  };
  const filledEnv = (): string => ENV_EXAMPLE.replace(/^([A-Z0-9_]+)=$/gm, (_line, name: string) => `${name}=${filled.get(name)}`);
  const service = (name: string): Service => {
    const s = rendered.services[name];
    if (s === undefined) throw new Error(`no service ${name}`);
    return s;
  };

  /** Why the file could not be rendered (docker-compose missing, say): every test fails with it, so each counts as failed. */
  let setupError: unknown;
  const check = (name: string, fn: () => void | Promise<void>): void => {
    it(name, async () => {
      if (setupError !== undefined) throw setupError;
      await fn();
    });
  };

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), "svgvec-compose-"));
    try {
      program = dockerCompose();
      writeFileSync(join(scratch, "docker-compose.yml"), readFileSync(COMPOSE_FILE));
      for (const [, name] of ENV_EXAMPLE.matchAll(/^([A-Z0-9_]+)=$/gm)) filled.set(name ?? "", randomBytes(16).toString("hex"));
      raw = parseYaml(program, readFileSync(COMPOSE_FILE, "utf8")) as ComposeFile;
      const out = config(filledEnv());
      if (out.status !== 0) throw new Error(`docker-compose config failed: ${out.stderr}`);
      rendered = parseYaml(program, out.stdout) as ComposeFile;
    } catch (e) {
      setupError = e;
    }
  });
  afterAll(async () => {
    await t?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  check("validates with docker-compose config -q once .env is filled in, and leaves the secrets empty in .env.example", () => {
    expect(config(filledEnv(), ["-q"])).toMatchObject({ status: 0, stdout: "" });
    expect([...filled.keys()].sort()).toEqual(["MINIO_ROOT_PASSWORD", "MINIO_ROOT_USER", "SVGVEC_AUTH_TOKENS"]);
  });

  check("refuses to render without the MinIO credentials, naming the variable and .env", () => {
    const out = config(ENV_EXAMPLE, ["-q"]);
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/set MINIO_ROOT_(USER|PASSWORD) in \.env/);
  });

  check("runs etcd, MinIO, a Milvus 2.5 standalone and svgvec", () => {
    expect(Object.keys(rendered.services).sort()).toEqual(["etcd", "milvus", "minio", "svgvec"]);
    expect(service("milvus").image).toMatch(/^milvusdb\/milvus:v2\.5\.\d+$/);
    expect(service("milvus").command).toEqual(["milvus", "run", "standalone"]);
    expect(service("milvus").environment).toMatchObject({ ETCD_ENDPOINTS: "etcd:2379", MINIO_ADDRESS: "minio:9000" });
    expect(service("etcd").image).toMatch(/^quay\.io\/coreos\/etcd:v3\.5\.\d+$/);
    expect(service("minio").image).toMatch(/^minio\/minio:RELEASE\./);
    expect(service("svgvec").build).toEqual({ context: scratch });
    expect(raw.services.svgvec?.build).toBe(".");
    expect(service("svgvec").environment).toMatchObject({
      SVGVEC_MILVUS_ADDRESS: "milvus:19530",
      SVGVEC_LISTEN: "0.0.0.0:50051",
      SVGVEC_HTTP_LISTEN: "0.0.0.0:8080",
    });
    expect((service("svgvec").command as string[]).join(" ")).toContain("svgvec model pull --if-missing && exec svgvec serve");
  });

  check("gives every service a health check, and starts each after what it needs is healthy", () => {
    for (const [name, s] of Object.entries(rendered.services)) {
      expect(s.healthcheck?.test[0], name).toBe("CMD");
      expect(s.healthcheck?.test.length, name).toBeGreaterThan(1);
    }
    expect(service("milvus").healthcheck?.test).toEqual(["CMD", "curl", "-f", "http://localhost:9091/healthz"]);
    expect(service("milvus").depends_on).toEqual({ etcd: { condition: "service_healthy" }, minio: { condition: "service_healthy" } });
    expect(service("svgvec").depends_on).toEqual({ milvus: { condition: "service_healthy" } });
  });

  check("checks svgvec's health with svgvec health (grpc.health.v1), a command that passes against a real svgvec without a token", async () => {
    const test = service("svgvec").healthcheck?.test ?? [];
    expect(test.slice(0, 3)).toEqual(["CMD", "svgvec", "health"]);
    const address = test[test.indexOf("--address") + 1];
    expect(address).toBe(`127.0.0.1:${service("svgvec").environment?.SVGVEC_LISTEN?.split(":")[1]}`);
    // The same arguments against a real server that requires a token: the health check must pass without one.
    t = await startTestApp({ milvusAddress: inject("liteAddress"), env: { SVGVEC_AUTH_TOKENS: randomBytes(16).toString("hex") } });
    const args = test.slice(2).map((a) => (a === address ? t!.app.address : a));
    expect(await svgvec(args)).toMatchObject({ code: 0, stdout: "SERVING\n" });
  });

  check("takes svgvec's token and MinIO's credentials from .env, hard-coding none", () => {
    // Interpolated from .env, and required: an empty token would leave svgvec refusing to start, over and over.
    expect(raw.services.svgvec?.environment?.SVGVEC_AUTH_TOKENS).toMatch(/^\$\{SVGVEC_AUTH_TOKENS:\?set SVGVEC_AUTH_TOKENS in \.env/);
    expect(service("svgvec").environment?.SVGVEC_AUTH_TOKENS).toBe(filled.get("SVGVEC_AUTH_TOKENS"));
    // svgvec gets no other secret.
    expect(Object.keys(service("svgvec").environment ?? {}).filter((k) => k.startsWith("MINIO"))).toEqual([]);
    expect(raw.services.svgvec?.env_file).toBeUndefined();
    const noToken = config(filledEnv().replace(/^SVGVEC_AUTH_TOKENS=.*$/m, "SVGVEC_AUTH_TOKENS="), ["-q"]);
    expect([noToken.status === 0, noToken.stderr]).toEqual([false, expect.stringMatching(/set SVGVEC_AUTH_TOKENS in \.env/)]);
    expect(service("minio").environment).toEqual({ MINIO_ROOT_USER: filled.get("MINIO_ROOT_USER"), MINIO_ROOT_PASSWORD: filled.get("MINIO_ROOT_PASSWORD") });
    expect(service("milvus").environment).toMatchObject({
      MINIO_ACCESS_KEY_ID: filled.get("MINIO_ROOT_USER"),
      MINIO_SECRET_ACCESS_KEY: filled.get("MINIO_ROOT_PASSWORD"),
    });
    expect(JSON.stringify(rendered)).not.toContain("minioadmin");
    // The secrets stay out of git and out of the image's build context.
    expect(readFileSync(join(REPO_ROOT, ".gitignore"), "utf8").split("\n")).toContain(".env");
    expect(readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8").split("\n")).toContain(".env");
  });

  check("publishes svgvec's gRPC and HTTP ports, on loopback unless PUBLISH_HOST says otherwise, and nothing else", () => {
    expect(service("svgvec").ports).toEqual(["127.0.0.1:50051:50051/tcp", "127.0.0.1:8080:8080/tcp"]);
    for (const name of ["etcd", "minio", "milvus"]) expect(service(name).ports, name).toBeUndefined();
    const everywhere = config(filledEnv(), [], { PUBLISH_HOST: "0.0.0.0" });
    expect(everywhere.status).toBe(0);
    expect((parseYaml(program, everywhere.stdout) as ComposeFile).services.svgvec?.ports).toEqual(["0.0.0.0:50051:50051/tcp", "0.0.0.0:8080:8080/tcp"]);
  });

  it("builds svgvec from the Dockerfile as an unprivileged user", () => {
    const dockerfile = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim\b/m);
    expect(dockerfile).toMatch(/^ENV ONNXRUNTIME_NODE_INSTALL=skip$/m);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBe("node");
  });
});
