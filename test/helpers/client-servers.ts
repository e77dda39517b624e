/**
 * What a client's own test suite (go test, pytest) runs against: two svgvec
 * processes from the built CLI on one Milvus Lite, one plaintext and one TLS,
 * both requiring a token, and SVGs served over loopback.
 */
import { inject } from "vitest";
import { type Corpus, startCorpus } from "./corpus.js";
import { uniqueCollection } from "./milvus.js";
import { type ServerProcess, startServerProcess } from "./server-process.js";
import { type TestCertificate, makeCertificate } from "./tls.js";

export interface ClientTestServers {
  corpus: Corpus;
  plain: ServerProcess;
  tls: ServerProcess;
  cert: TestCertificate;
  close(): Promise<void>;
}

/** prefix names the servers' collections (e.g. "go", "py"). */
export async function startClientTestServers(prefix: string, token: string): Promise<ClientTestServers> {
  const [corpus, cert] = await Promise.all([startCorpus(), makeCertificate()]);
  const lite = inject("liteAddress");
  const [plain, tls] = await Promise.all([
    startServerProcess({ SVGVEC_MILVUS_ADDRESS: lite, SVGVEC_COLLECTION: uniqueCollection(prefix), SVGVEC_AUTH_TOKENS: token }),
    startServerProcess({
      SVGVEC_MILVUS_ADDRESS: lite,
      SVGVEC_COLLECTION: uniqueCollection(`${prefix}_tls`),
      SVGVEC_AUTH_TOKENS: token,
      SVGVEC_TLS_CERT: cert.certFile,
      SVGVEC_TLS_KEY: cert.keyFile,
    }),
  ]);
  return {
    corpus,
    plain,
    tls,
    cert,
    close: async () => {
      for (const server of [plain, tls]) {
        if (server.child.exitCode === null) {
          server.child.kill("SIGTERM");
          await server.exited;
        }
      }
      await corpus.close();
    },
  };
}
