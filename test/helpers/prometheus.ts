/**
 * Reads Prometheus's text exposition format (what GET /metrics answers) into samples, so tests can
 * compare counts before and after the calls they make.
 */

export interface Sample {
  /** The sample's own name: svgvec_requests_total, svgvec_request_duration_seconds_count, ... */
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample of a scrape; comment lines (# HELP, # TYPE) are skipped. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    samples.push(parseLine(line));
  }
  return samples;
}

/** name{label="value",...} value, where a value escapes \\, \" and \n. */
function parseLine(line: string): Sample {
  let i = 0;
  while (i < line.length && line[i] !== "{" && line[i] !== " ") i++;
  const name = line.slice(0, i);
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    while (line[i] !== "}") {
      const eq = line.indexOf("=", i);
      if (eq < 0 || line[eq + 1] !== '"') throw new Error(`not a metric line: ${line}`);
      const key = line.slice(i, eq);
      let value = "";
      let j = eq + 2;
      for (; line[j] !== '"'; j++) {
        if (j >= line.length) throw new Error(`unterminated label value: ${line}`);
        if (line[j] === "\\") {
          j++;
          value += line[j] === "n" ? "\n" : line[j];
        } else {
          value += line[j];
        }
      }
      labels[key] = value;
      i = j + 1;
      if (line[i] === ",") i++;
    }
    i++;
  }
  const text = line.slice(i).trim().split(" ")[0] ?? "";
  // prom-client writes NaN as "Nan" (a gauge with no observations yet).
  const value = text.toLowerCase() === "nan" ? Number.NaN : Number(text);
  if (text === "" || Number.isNaN(value) !== (text.toLowerCase() === "nan")) throw new Error(`not a metric line: ${line}`);
  return { name, labels, value };
}

/** The sum of the samples called name whose labels include every one of match. */
export function total(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Scrapes GET /metrics of an HTTP address (host:port), with a bearer token when given. */
export async function scrape(httpAddress: string, token?: string): Promise<Sample[]> {
  const res = await fetch(`http://${httpAddress}/metrics`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text}`);
  return parseMetrics(text);
}
