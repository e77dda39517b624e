/**
 * The image records in Milvus, with the seed system's schema and index kept
 * exactly, so a collection the seed wrote can be served as it is.
 */
import { ConsistencyLevelEnum, DataType, MilvusClient, type FieldType } from "@zilliz/milvus2-sdk-node";
import { ConfigError, InvalidArgumentError, SchemaMismatchError, StoreRejectedError, StoreUnavailableError, errorMessage } from "../errors.js";
import { startMilvusCall } from "../metrics/metrics.js";
import { DEFAULT_INDEX, indexBuildParams, type IndexSpec } from "./index-spec.js";

export const VECTOR_DIM = 512;
export const URL_MAX_LENGTH = 2000;
export const TIMESTAMP_MAX_LENGTH = 50;
/** Similarity is the inner product of unit vectors: cosine. */
export const METRIC = "IP";

/** Milvus's cap on one query or search result window. */
export const MAX_WINDOW = 16_384;

export const SCHEMA: FieldType[] = [
  { name: "id", data_type: DataType.Int64, is_primary_key: true, autoID: false },
  { name: "url", data_type: DataType.VarChar, max_length: URL_MAX_LENGTH },
  { name: "vector", data_type: DataType.FloatVector, dim: VECTOR_DIM },
  { name: "added_at", data_type: DataType.VarChar, max_length: TIMESTAMP_MAX_LENGTH },
  { name: "updated_at", data_type: DataType.VarChar, max_length: TIMESTAMP_MAX_LENGTH },
];

export interface ImageRecord {
  id: bigint;
  url: string;
  /** Present only when asked for. */
  vector?: number[];
  addedAt: string;
  updatedAt: string;
}

export interface ImageRow {
  id: bigint;
  url: string;
  vector: ArrayLike<number>;
  addedAt: string;
  updatedAt: string;
}

export interface SearchHit {
  id: bigint;
  url: string;
  similarity: number;
}

export type Deployment = "lite" | "standalone" | "cluster" | "unknown";

export interface StoreInfo {
  collection: string;
  indexType: string;
  metricType: string;
  indexParams: Record<string, string>;
  deployment: Deployment;
  version: string;
  address: string;
}

export interface StoreOptions {
  address: string;
  token: string;
  collection: string;
  /** Set when svgvec started the Milvus itself. */
  deployment?: Deployment;
  /** Deadline for each Milvus call. */
  timeoutMs?: number;
  /** The index built when the collection has none; DEFAULT_INDEX unless given. */
  index?: IndexSpec;
  /** HNSW's candidate list per search (raised to k when smaller); 64 unless given. */
  searchEf?: number;
  /** Refuse a collection that does not exist instead of creating it (for tools that change one). */
  mustExist?: boolean;
}

interface Status {
  error_code: string | number;
  reason: string;
  code?: number;
  retriable?: boolean;
}

/**
 * Milvus's numeric status codes (2.3+) for states that pass by themselves: not ready, unavailable,
 * request or rate limit, resources, collection or partition (not fully) loaded or recovering,
 * replica, channel or node not available during a failover, unexpected EOF, inconsistent requery,
 * timeout. Not loaded is among them: after a Milvus restart the collection loads again.
 */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([1, 2, 4, 8, 12, 101, 103, 106, 201, 202, 401, 503, 902, 905, 1002, 2200, 10001]);
/** The same states in the older string codes, which Milvus still sends beside the numeric ones. */
const TRANSIENT_ERROR_CODES: ReadonlySet<string> = new Set(["RateLimit", "NotReadyServe", "NotReadyCoordActivating", "DataCoordNA"]);
/**
 * The same states in Milvus's words, when a query node's error reaches the proxy only as text under
 * code 65535: a search waiting on a collection that is being released (svgvec index rebuild) fails
 * with "delegator closed during wait tsafe: channel not available".
 */
const TRANSIENT_REASON = /\b(?:channel|node|replica) not available\b|\bcollection not (?:fully )?loaded\b/;
/** Invalid or missing parameter: on a write, a refusal of the rows' data (a value too long, a wrong dimension). */
const INVALID_PARAMETER_CODES: ReadonlySet<number> = new Set([1100, 1101, 1102]);
const INVALID_PARAMETER_ERROR_CODES: ReadonlySet<string> = new Set(["IllegalArgument", "IllegalDimension", "IllegalRowRecord", "IllegalVectorID"]);

const STRONG = ConsistencyLevelEnum.Strong;

/**
 * The SDK pings every 10 s even when idle; Milvus Lite's gRPC server allows one ping per 5 minutes
 * without data and answers more with GOAWAY, failing the calls in flight (RESOURCE_EXHAUSTED
 * "Bandwidth exhausted") during long upserts. Calls have deadlines anyway.
 */
export const MILVUS_CHANNEL_OPTIONS = { "grpc.keepalive_time_ms": 360_000, "grpc.keepalive_permit_without_calls": 0 };

export class MilvusStore {
  /** The vector index's cluster count, when it has one: more probes than clusters cannot find more. */
  private nlist: number | undefined;
  /** The vector index's type as Milvus describes it; decides which search parameters apply. */
  private indexType = "";

  /** What kind of Milvus this is, found once at open. */
  private deployment: Deployment = "unknown";

  private constructor(
    private readonly client: MilvusClient,
    private readonly opts: StoreOptions,
  ) {}

  /** Connects, creates the collection and index when missing, checks them when present, and loads the collection. */
  static async open(opts: StoreOptions): Promise<MilvusStore> {
    const client = new MilvusClient({
      address: opts.address,
      ...(opts.token ? { token: opts.token } : {}),
      timeout: opts.timeoutMs ?? 30_000,
      logLevel: "error",
      channelOptions: MILVUS_CHANNEL_OPTIONS,
    });
    client.connectPromise.catch(() => undefined);
    const store = new MilvusStore(client, opts);
    try {
      await store.call("connect", () => client.connectPromise);
      await store.ensureCollection();
      store.deployment = opts.deployment ?? (await store.detectDeployment());
    } catch (e) {
      await client.closeConnection().catch(() => undefined);
      // At start-up nothing reconnects later: say what to check instead of "retry".
      if (e instanceof StoreUnavailableError && opts.deployment !== "lite") {
        throw new StoreUnavailableError(
          `cannot use Milvus at ${opts.address} at start-up (${errorMessage(e.cause ?? e)}): check SVGVEC_MILVUS_ADDRESS ` +
            `(and SVGVEC_MILVUS_TOKEN) and that Milvus is running` +
            // A tool that changes an existing collection (svgvec index rebuild) has no use for a fresh Milvus Lite.
            (opts.mustExist === true ? "" : ", or leave SVGVEC_MILVUS_ADDRESS empty for the embedded Milvus Lite"),
          { cause: e },
        );
      }
      throw e;
    }
    return store;
  }

  get collection(): string {
    return this.opts.collection;
  }

  /**
   * Refuses an id this Milvus would store but never find: a Milvus 2.3 server (standalone or
   * cluster) writes a row with the largest int64 as its primary key, yet no query or search returns
   * it afterwards. Milvus Lite keeps it like any other.
   */
  checkId(id: bigint, field = "id"): void {
    if (id === MAX_INT64 && (this.deployment === "standalone" || this.deployment === "cluster")) {
      throw new InvalidArgumentError(
        field,
        `${id} (the largest int64) cannot be used with a Milvus ${this.deployment} server, which stores such a row but never ` +
          `returns it from a query or search; use any other id`,
      );
    }
  }

  private async ensureCollection(): Promise<void> {
    const name = this.opts.collection;
    // Not hasCollection: Milvus Lite answers a missing collection's describe with only the newer
    // numeric status code, which the SDK's hasCollection reads as "exists".
    const shown = await this.call("showCollections", () => this.client.showCollections());
    ok(shown.status, "showCollections");
    if (!shown.data.some((c) => c.name === name)) {
      if (this.opts.mustExist === true) {
        throw new ConfigError([
          `Milvus at ${this.opts.address} has no collection ${name} (${describeNames(shown.data.map((c) => c.name))}); check SVGVEC_COLLECTION`,
        ]);
      }
      ok(await this.call("createCollection", () =>
        this.client.createCollection({ collection_name: name, fields: SCHEMA, consistency_level: "Strong" }),
      ), "createCollection");
    } else {
      const desc = await this.call("describeCollection", () => this.client.describeCollection({ collection_name: name }));
      ok(desc.status, "describeCollection");
      const differences = schemaDifferences(desc.schema.fields);
      if (differences.length > 0) throw new SchemaMismatchError(name, differences);
    }
    let index = await this.describeVectorIndex();
    if (index === undefined) {
      const spec = this.opts.index ?? DEFAULT_INDEX;
      ok(await this.call("createIndex", () =>
        this.client.createIndex({
          collection_name: name,
          field_name: "vector",
          index_type: spec.type,
          metric_type: METRIC,
          params: indexBuildParams(spec),
        }),
      ), "createIndex");
      // Read back what Milvus made: Milvus Lite builds its own kind for some requests.
      index = await this.describeVectorIndex();
    } else if (index.metricType !== METRIC) {
      throw new SchemaMismatchError(name, [
        `the vector index uses metric ${index.metricType}, svgvec needs ${METRIC} (similarity is the inner product of unit vectors)`,
      ]);
    }
    this.noteIndex(index);
    ok(await this.call("loadCollection", () => this.client.loadCollectionSync({ collection_name: name })), "loadCollection");
  }

  private async describeVectorIndex(): Promise<{ type: string; metricType: string; params: Record<string, string> } | undefined> {
    const res = await this.call("describeIndex", () =>
      this.client.describeIndex({ collection_name: this.opts.collection, field_name: "vector" }),
    );
    const desc = res.index_descriptions?.[0];
    if (res.status.error_code !== "Success" || desc === undefined) return undefined;
    const flat: Record<string, string> = {};
    for (const { key, value: raw } of desc.params) {
      const value = String(raw);
      if (key === "params") {
        // Milvus 2.3 nests the build parameters as JSON; 2.4+ lists them flat.
        try {
          for (const [k, v] of Object.entries(JSON.parse(value) as Record<string, unknown>)) flat[k] = String(v);
        } catch {
          flat[key] = value;
        }
      } else {
        flat[key] = value;
      }
    }
    const { index_type: type = "", metric_type: metricType = "", ...params } = flat;
    delete params.dim;
    return { type, metricType, params };
  }

  /** added_at and url of the ids that exist. */
  async existing(ids: readonly bigint[]): Promise<Map<bigint, { addedAt: string; url: string }>> {
    const out = new Map<bigint, { addedAt: string; url: string }>();
    if (ids.length === 0) return out;
    const res = await this.call("query", () =>
      this.client.query({
        collection_name: this.opts.collection,
        filter: idFilter(ids),
        output_fields: ["id", "url", "added_at"],
        consistency_level: STRONG,
      }),
    );
    ok(res.status, "query");
    for (const row of res.data) out.set(BigInt(String(row.id)), { addedAt: String(row.added_at), url: String(row.url) });
    return out;
  }

  async get(id: bigint, includeVector = false): Promise<ImageRecord | undefined> {
    const row = (await this.queryRows(idFilter([id]), includeVector))[0];
    return row === undefined ? undefined : toRecord(row, includeVector);
  }

  /**
   * The rows matching filter. Milvus Lite refuses a query for the vector field of a collection that
   * has never held a row (a segcore assertion) instead of finding no rows; the same query without
   * the vector then tells whether there is anything to find.
   */
  private async queryRows(
    filter: string,
    includeVector: boolean,
    read: { limit?: number; since?: string; timeoutMs?: number } = {},
  ): Promise<Record<string, unknown>[]> {
    // Not in the SDK's QueryReq type, but passed through to Milvus's QueryRequest as it is.
    const consistency: { consistency_level: ConsistencyLevelEnum; guarantee_timestamp?: string } =
      read.since === undefined ? { consistency_level: STRONG } : { consistency_level: ConsistencyLevelEnum.Customized, guarantee_timestamp: read.since };
    const query = (vector: boolean) =>
      this.call("query", () =>
        this.client.query({
          collection_name: this.opts.collection,
          filter,
          output_fields: outputFields(vector),
          ...(read.limit === undefined ? {} : { limit: read.limit }),
          ...(read.timeoutMs === undefined ? {} : { timeout: read.timeoutMs }),
          ...consistency,
        }),
      );
    const res = await query(includeVector);
    try {
      ok(res.status, "query");
    } catch (e) {
      if (!includeVector || !(e instanceof StoreRejectedError)) throw e;
      const bare = await query(false);
      ok(bare.status, "query");
      if (bare.data.length > 0) throw e;
      return [];
    }
    return res.data;
  }

  /** Inserts or replaces whole rows (one Milvus upsert: all rows or none). */
  async upsert(rows: readonly ImageRow[]): Promise<void> {
    if (rows.length === 0) return;
    const data = rows.map((r) => ({
      id: r.id.toString(),
      url: r.url,
      vector: Array.from(r.vector),
      added_at: r.addedAt,
      updated_at: r.updatedAt,
    }));
    const res = await this.call("upsert", () => this.client.upsert({ collection_name: this.opts.collection, data }));
    ok(res.status, "upsert");
  }

  /** Deletes id; true when it existed. */
  async remove(id: bigint): Promise<boolean> {
    // Milvus's delete count includes ids that never existed, so ask first.
    const existed = (await this.existing([id])).size > 0;
    if (!existed) return false;
    const res = await this.call("delete", () =>
      this.client.delete({ collection_name: this.opts.collection, filter: idFilter([id]) }),
    );
    ok(res.status, "delete");
    return true;
  }

  /** Seals what was written into persisted segments (slow on a full Milvus; the seed did it after every insert). */
  async flush(): Promise<void> {
    const res = await this.call("flush", () => this.client.flushSync({ collection_names: [this.opts.collection] }));
    ok(res.status, "flush");
  }

  async count(): Promise<number> {
    // count(*) through query, which takes a consistency level, so a just-acknowledged write is counted.
    const res = await this.call("count", () =>
      this.client.query({
        collection_name: this.opts.collection,
        filter: "",
        output_fields: ["count(*)"],
        consistency_level: STRONG,
      }),
    );
    ok(res.status, "count");
    return Number(res.data[0]?.["count(*)"] ?? 0);
  }

  /**
   * Every record in ascending id order, a page at a time. Milvus is read in chunks of many pages
   * (LIST_CHUNK_ROWS, or LIST_CHUNK_ROWS_WITH_VECTORS), each after the last id of the one before.
   * The first read is Strong, so it sees every write acknowledged before the call. The later ones
   * ask Milvus for the state as of the call's start (Customized consistency, at a timestamp from
   * this host's clock) instead: a Strong read waits for Milvus's next time tick, about 200 ms on a
   * full Milvus, and one per 1,000-record page held a million-record listing to about 3,900
   * records/s (bench/scale.ts). Milvus waits until its own clock reaches that timestamp, so a host
   * clock ahead of Milvus's would stall each read: one that has not answered within
   * SINCE_READ_TIMEOUT_MS, or that Milvus refused, is made again with Strong consistency, as are
   * the rest of the listing.
   */
  async *list(opts: { includeVectors: boolean; limit: number; pageSize: number }): AsyncGenerator<ImageRecord[]> {
    let since: string | undefined = hybridTimestamp(Date.now());
    const size = Math.max(1, opts.pageSize);
    const chunk = Math.min(MAX_WINDOW, Math.max(size, opts.includeVectors ? LIST_CHUNK_ROWS_WITH_VECTORS : LIST_CHUNK_ROWS));
    let left = opts.limit > 0 ? opts.limit : Infinity;
    // "id > x" cannot start below -9223372036854775807 (Milvus cannot parse the smallest int64 as a
    // literal), so the two smallest ids are read on their own, first, with Strong consistency.
    let records = (await this.queryRows(`id <= ${ITERATOR_START}`, opts.includeVectors)).map((row) => toRecord(row, opts.includeVectors));
    let last = ITERATOR_START;
    // Records read but not yet sent: pages stay page_size long across chunk boundaries.
    let pending: ImageRecord[] = [];
    for (;;) {
      records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      if (records.length > left) records = records.slice(0, left);
      left -= records.length;
      // Never below ITERATOR_START: "id > -9223372036854775808" is a filter Milvus cannot read.
      if (records.length > 0 && records[records.length - 1]!.id > last) last = records[records.length - 1]!.id;
      pending = pending.length === 0 ? records : pending.concat(records);
      let sent = 0;
      for (; pending.length - sent >= size; sent += size) yield pending.slice(sent, sent + size);
      pending = pending.slice(sent);
      const want = Math.min(chunk, left);
      if (want <= 0) break;
      const filter = `id > ${last}`;
      let rows: Record<string, unknown>[];
      try {
        rows = await this.queryRows(filter, opts.includeVectors, since === undefined ? { limit: want } : { limit: want, since, timeoutMs: SINCE_READ_TIMEOUT_MS });
      } catch (e) {
        // Not only a timeout: Milvus refuses a timestamp over a day (queryNode.maxTimestampLag) ahead of its clock.
        if (since === undefined) throw e;
        since = undefined;
        rows = await this.queryRows(filter, opts.includeVectors, { limit: want });
      }
      if (rows.length === 0) break;
      records = rows.map((row) => toRecord(row, opts.includeVectors));
    }
    if (pending.length > 0) yield pending;
  }


  /**
   * Replaces the collection's vector index with spec: releases the collection (searches fail until
   * it is loaded again), drops the old index, creates the new one, waits until it covers every
   * row, and loads the collection. The rows stay as they are. onProgress hears indexed and total
   * rows while Milvus builds.
   */
  async rebuildIndex(
    spec: IndexSpec,
    onProgress: (indexed: number, total: number) => void = () => {},
    pollMs = 2_000,
    stallMs = 600_000,
  ): Promise<void> {
    const name = this.opts.collection;
    const old = await this.call("describeIndex", () => this.client.describeIndex({ collection_name: name, field_name: "vector" }));
    // Sealed segments only are indexed: flush first, so that the progress counts every row.
    await this.flush();
    ok(await this.call("releaseCollection", () => this.client.releaseCollection({ collection_name: name })), "releaseCollection");
    for (const desc of old.status.error_code === "Success" ? (old.index_descriptions ?? []) : []) {
      ok(await this.call("dropIndex", () => this.client.dropIndex({ collection_name: name, field_name: "vector", index_name: desc.index_name })), "dropIndex");
    }
    ok(await this.call("createIndex", () =>
      this.client.createIndex({ collection_name: name, field_name: "vector", index_type: spec.type, metric_type: METRIC, params: indexBuildParams(spec) }),
    ), "createIndex");
    let lastIndexed = -1;
    let lastChange = performance.now();
    for (;;) {
      const p = await this.call("getIndexBuildProgress", () => this.client.getIndexBuildProgress({ collection_name: name, field_name: "vector" }));
      // Milvus Lite answers without a status or counts: it builds the index as it loads.
      if (p.status === undefined) break;
      ok(p.status, "getIndexBuildProgress");
      const indexed = Number(p.indexed_rows);
      const total = Number(p.total_rows);
      onProgress(indexed, total);
      if (indexed >= total) break;
      // A build Milvus gave up on, or one that stopped moving, would otherwise be waited on for good
      // with the collection released.
      const desc = await this.call("describeIndex", () => this.client.describeIndex({ collection_name: name, field_name: "vector" }));
      const state = desc.index_descriptions?.[0];
      if (String(state?.state) === "Failed") {
        throw new StoreRejectedError(
          `Milvus failed to build the ${spec.type} index of ${name}: ${state?.index_state_fail_reason || "no reason given"}; the collection stays released, so rebuild with another SVGVEC_INDEX_TYPE`,
          false,
          String(state?.index_state_fail_reason ?? ""),
        );
      }
      if (indexed !== lastIndexed) {
        lastIndexed = indexed;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > stallMs) {
        throw new StoreUnavailableError(
          `the ${spec.type} index of ${name} has stayed at ${indexed} of ${total} rows for ${Math.round(stallMs / 1000)} s; check Milvus's index node logs, then run svgvec index rebuild again (the collection stays released)`,
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    ok(await this.call("loadCollection", () => this.client.loadCollectionSync({ collection_name: name })), "loadCollection");
    this.noteIndex(await this.describeVectorIndex());
  }

  /** The vector index's type as Milvus describes it ("" when it has none). */
  get vectorIndexType(): string {
    return this.indexType;
  }

  private noteIndex(index: { type: string; params: Record<string, string> } | undefined): void {
    this.indexType = index?.type ?? "";
    this.nlist = index === undefined ? undefined : clusterCount(index.params);
  }

  /** The clusters a search probes when asked for nprobe: at most the index's nlist. */
  nprobeFor(nprobe: number): number {
    return this.nlist === undefined ? nprobe : Math.min(nprobe, this.nlist);
  }

  /**
   * What a search of k hits sends Milvus for the collection's index: nprobe for the IVF kinds, ef
   * (at least k, which HNSW requires) for HNSW, and nothing for an index that takes neither.
   */
  searchParams(k: number, nprobe: number): Record<string, number> {
    if (this.indexType.startsWith("IVF")) return { nprobe: this.nprobeFor(nprobe) };
    if (this.indexType === "HNSW") return { ef: Math.max(k, this.opts.searchEf ?? 64) };
    return this.nlist === undefined ? {} : { nprobe: this.nprobeFor(nprobe) };
  }

  /**
   * The k records nearest to vector, best first. Excluded ids are filtered out inside Milvus, so
   * they never take a place among the k.
   */
  async search(
    vector: ArrayLike<number>,
    k: number,
    nprobe: number,
    consistency: "strong" | "bounded" = "strong",
    excludeIds: readonly bigint[] = [],
  ): Promise<SearchHit[]> {
    const params = this.searchParams(k, nprobe);
    const filter = excludeIds.length > 0 ? { filter: notIdFilter(excludeIds) } : {};
    const res = await this.call("search", () =>
      this.client.search({
        collection_name: this.opts.collection,
        data: [Array.from(vector)],
        anns_field: "vector",
        limit: k,
        metric_type: METRIC,
        params,
        ...filter,
        output_fields: ["id", "url"],
        consistency_level: consistency === "strong" ? STRONG : ConsistencyLevelEnum.Bounded,
      }),
    );
    ok(res.status, "search");
    const hits = (res.results as Array<Record<string, unknown>>).map((r) => ({
      id: BigInt(String(r.id)),
      url: String(r.url),
      similarity: Number(r.score),
    }));
    return hits.sort((a, b) => b.similarity - a.similarity);
  }

  async info(): Promise<StoreInfo> {
    const index = await this.describeVectorIndex();
    if (index !== undefined) this.noteIndex(index);
    let version = "";
    try {
      const v = await this.client.getVersion();
      version = typeof v.version === "string" ? v.version : "";
    } catch {
      version = "";
    }
    return {
      collection: this.opts.collection,
      indexType: index?.type ?? "",
      metricType: index?.metricType ?? METRIC,
      indexParams: index?.params ?? {},
      deployment: this.deployment,
      version,
      address: this.opts.address,
    };
  }

  private async detectDeployment(): Promise<Deployment> {
    try {
      const res = await this.client.getMetric({ request: { metric_type: "system_info" } });
      const text = typeof res.response === "string" ? res.response : JSON.stringify(res.response ?? "");
      if (/"deploy_mode"\s*:\s*"[^"]*cluster/i.test(text)) return "cluster";
      if (/"deploy_mode"\s*:\s*"[^"]*standalone/i.test(text)) return "standalone";
    } catch {
      // Milvus Lite answers no metrics.
    }
    return "unknown";
  }

  async close(): Promise<void> {
    await this.client.closeConnection().catch(() => undefined);
  }

  /**
   * Runs one SDK call, timed in svgvec_milvus_call_duration_seconds under what (always a literal: it
   * is a metric label); a thrown transport error becomes StoreUnavailableError.
   */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const done = startMilvusCall(what);
    try {
      return await fn();
    } catch (e) {
      if (e instanceof StoreUnavailableError || e instanceof StoreRejectedError || e instanceof SchemaMismatchError) throw e;
      throw new StoreUnavailableError(
        `Milvus at ${this.opts.address} did not complete ${what} (${errorMessage(e)}); retry when Milvus is reachable again, svgvec reconnects by itself`,
        { cause: e },
      );
    } finally {
      done();
    }
  }
}

/**
 * Throws when Milvus answered with a failure: StoreUnavailableError (retry) for a state that passes
 * by itself, StoreRejectedError for one that a retry would meet again.
 */
function ok(status: Status, what: string): void {
  // Newer Milvus releases report failures in the numeric code and may leave error_code at Success.
  const code = status.code ?? 0;
  if ((status.error_code === "Success" || status.error_code === 0) && code === 0) return;
  const legacy = String(status.error_code);
  const reason = status.reason || legacy;
  const codes = `code ${code}, ${legacy}`;
  if (status.retriable === true || TRANSIENT_CODES.has(code) || TRANSIENT_ERROR_CODES.has(legacy) || TRANSIENT_REASON.test(reason)) {
    throw new StoreUnavailableError(`Milvus cannot serve ${what} at the moment (${codes}): ${reason}; retry with backoff`);
  }
  if (what === "upsert" && (INVALID_PARAMETER_CODES.has(code) || INVALID_PARAMETER_ERROR_CODES.has(legacy))) {
    throw new StoreRejectedError(
      `Milvus refused to store the record (${codes}): ${reason}; sending it again unchanged fails the same way, so change the item`,
      true,
      reason,
    );
  }
  throw new StoreRejectedError(
    `Milvus refused ${what} (${codes}): ${reason}; a retry meets the same refusal, so check the Milvus server and the collection`,
    false,
    reason,
  );
}

/** nlist from an index's parameters; undefined for an index without clusters. */
function clusterCount(params: Record<string, string>): number | undefined {
  const n = Number(params.nlist);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
/** The id the SDK's query iterator starts after (its DEFAULT_MIN_INT64). */
const ITERATOR_START = MIN_INT64 + 1n;

/** "it has a, b and 3 more" for an error message: a few names, not a whole server's. */
function describeNames(names: string[]): string {
  if (names.length === 0) return "it has none";
  const shown = names.slice(0, 5).join(", ");
  return names.length > 5 ? `it has ${shown} and ${names.length - 5} more` : `it has ${shown}`;
}

/** Records per Milvus read while listing; a chunk without vectors is a few MiB at most. */
const LIST_CHUNK_ROWS = 8192;
/** With vectors a record is about 10 KiB in memory (512 numbers), so fewer per read. */
const LIST_CHUNK_ROWS_WITH_VECTORS = 1024;
/** How long a listing read at the call's start time may take before it is made with Strong consistency instead. */
const SINCE_READ_TIMEOUT_MS = 5_000;

/**
 * A Milvus hybrid timestamp for a wall-clock time: milliseconds since the epoch above 18 bits of
 * logical counter. A read at it sees every write Milvus acknowledged before that time.
 */
export function hybridTimestamp(ms: number): string {
  return (BigInt(Math.floor(ms)) << 18n).toString();
}

/**
 * A filter for exactly these ids. Milvus parses -9223372036854775808 as minus 9223372036854775808, which
 * overflows (a standalone refuses the filter, Milvus Lite matches the wrong id), so that one id is written
 * as the only int64 below -9223372036854775807.
 */
function idFilter(ids: readonly bigint[]): string {
  const literal = ids.filter((id) => id !== MIN_INT64);
  const parts = literal.length > 0 ? [`id in [${literal.join(",")}]`] : [];
  if (literal.length < ids.length) parts.push(`id < ${ITERATOR_START}`);
  return parts.join(" or ");
}

/** A filter for every id but these; ids are bigints, so the expression holds nothing but digits and signs. */
export function notIdFilter(ids: readonly bigint[]): string {
  const literal = ids.filter((id) => id !== MIN_INT64);
  const parts = literal.length > 0 ? [`id not in [${literal.join(",")}]`] : [];
  if (literal.length < ids.length) parts.push(`id >= ${ITERATOR_START}`);
  return parts.join(" and ");
}

function outputFields(includeVector: boolean): string[] {
  return includeVector ? ["id", "url", "vector", "added_at", "updated_at"] : ["id", "url", "added_at", "updated_at"];
}

function toRecord(row: Record<string, unknown>, includeVector: boolean): ImageRecord {
  const record: ImageRecord = {
    id: BigInt(String(row.id)),
    url: String(row.url),
    addedAt: String(row.added_at),
    updatedAt: String(row.updated_at),
  };
  if (includeVector && Array.isArray(row.vector)) record.vector = row.vector as number[];
  return record;
}

interface DescribedField {
  name: string;
  data_type: string | number;
  is_primary_key?: boolean;
  autoID?: boolean;
  type_params?: ReadonlyArray<{ key: string; value: unknown }>;
}

/** What differs between a described collection and svgvec's schema, in words. */
export function schemaDifferences(fields: readonly DescribedField[]): string[] {
  const out: string[] = [];
  const byName = new Map(fields.map((f) => [f.name, f]));
  for (const want of SCHEMA) {
    const got = byName.get(want.name);
    if (got === undefined) {
      out.push(`field "${want.name}" is missing`);
      continue;
    }
    const wantType = DataType[want.data_type as DataType];
    const gotType = typeof got.data_type === "number" ? DataType[got.data_type] : got.data_type;
    if (gotType !== wantType) out.push(`field "${want.name}" is ${gotType}, expected ${wantType}`);
    const param = (key: string) => got.type_params?.find((p) => p.key === key)?.value;
    if (want.dim !== undefined && Number(param("dim")) !== Number(want.dim)) {
      out.push(`field "${want.name}" has dim ${param("dim")}, expected ${want.dim}`);
    }
    if (want.max_length !== undefined && Number(param("max_length")) !== Number(want.max_length)) {
      out.push(`field "${want.name}" has max_length ${param("max_length")}, expected ${want.max_length}`);
    }
    if (want.is_primary_key === true && got.is_primary_key !== true) out.push(`field "${want.name}" is not the primary key`);
    if (want.is_primary_key === true && got.autoID === true) out.push(`field "${want.name}" has autoID on; svgvec needs caller-chosen ids`);
  }
  for (const f of fields) {
    if (!SCHEMA.some((w) => w.name === f.name)) out.push(`extra field "${f.name}"`);
  }
  return out;
}
