/**
 * The vector index: which kinds svgvec builds, with what parameters. Apart from the store so that
 * configuration can name them without loading the Milvus client.
 */

/** The vector index kinds svgvec builds and knows how to search. */
export const INDEX_TYPES = ["IVF_FLAT", "IVF_SQ8", "HNSW"] as const;
export type IndexType = (typeof INDEX_TYPES)[number];

/**
 * The index svgvec builds on a collection it creates. A collection that already has an index keeps
 * it: svgvec never rebuilds one on its own, and searches whatever it finds with fitting parameters.
 */
export interface IndexSpec {
  type: IndexType;
  /** IVF clusters (IVF_FLAT, IVF_SQ8). */
  nlist: number;
  /** HNSW links per node. */
  m: number;
  /** HNSW candidate list while building. */
  efConstruction: number;
}

/** The seed's index: IVF_FLAT over 1,024 clusters, inner product. */
export const DEFAULT_INDEX: IndexSpec = { type: "IVF_FLAT", nlist: 1024, m: 16, efConstruction: 200 };

/** The build parameters Milvus takes for spec. */
export function indexBuildParams(spec: IndexSpec): Record<string, number> {
  return spec.type === "HNSW" ? { M: spec.m, efConstruction: spec.efConstruction } : { nlist: spec.nlist };
}
