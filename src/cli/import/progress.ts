/**
 * Import progress on standard error: a live bar on a terminal, plain lines
 * every few seconds otherwise (a log, a CI job), so that stdout stays for
 * the summary.
 */
import cliProgress from "cli-progress";

export interface Tally {
  /** Items read from the input, valid or not. */
  read: number;
  /** Items written to a stream (each once, however often its stream was sent again). */
  sent: number;
  added: number;
  replaced: number;
  unchanged: number;
  failed: number;
}

export interface Progress {
  update(tally: Tally): void;
  /** A line that must not be lost in the bar (a retried stream). */
  note(message: string): void;
  stop(): void;
}

const PLAIN_INTERVAL_MS = 5_000;

export function createProgress(total: number | undefined, terminal: boolean): Progress {
  return terminal ? barProgress(total) : plainProgress(total);
}

function rate(sent: number, started: number): string {
  const seconds = (Date.now() - started) / 1000;
  return seconds > 0 ? (sent / seconds).toFixed(1) : "0.0";
}

function counts(t: Tally): string {
  return `added ${t.added} replaced ${t.replaced} unchanged ${t.unchanged} failed ${t.failed}`;
}

function barProgress(total: number | undefined): Progress {
  const started = Date.now();
  const known = total !== undefined && total > 0;
  const bars = new cliProgress.MultiBar(
    {
      // The counts go last: a narrow terminal cuts the end of the line.
      format: known
        ? "{bar} {percentage}% | {value}/{total} read, {sent} sent | {rate}/s | ETA {eta_formatted} | {counts}"
        : "{value} read, {sent} sent | {rate}/s | {counts}",
      barsize: 20,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 200,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(known ? total : 0, 0, { sent: 0, rate: "0.0", counts: "counts after the first stream" });
  return {
    update: (t) =>
      bar.update(t.read, {
        sent: t.sent,
        rate: rate(t.sent, started),
        counts: t.added + t.replaced + t.unchanged + t.failed > 0 ? counts(t) : "counts after the first stream",
      }),
    note: (message) => bars.log(`${message}\n`),
    stop: () => bars.stop(),
  };
}

function plainProgress(total: number | undefined): Progress {
  const started = Date.now();
  let last: Tally | undefined;
  let printed = "";
  const print = () => {
    if (last === undefined) return;
    const line = `import: ${last.read}${total !== undefined ? `/${total}` : ""} read, ${last.sent} sent, ${rate(last.sent, started)} items/s, ${counts(last)}`;
    if (line === printed) return;
    printed = line;
    process.stderr.write(`${line}\n`);
  };
  const timer = setInterval(print, PLAIN_INTERVAL_MS);
  timer.unref();
  return {
    update: (t) => {
      last = { ...t };
    },
    note: (message) => process.stderr.write(`${message}\n`),
    stop: () => {
      clearInterval(timer);
      print();
    },
  };
}
