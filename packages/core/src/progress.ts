/** A one-line progress bar for long work; silent when the stream is not a TTY or `enabled` is false. */
export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  finish(message?: string): void;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

/**
 * Creates a progress bar writing to stderr (or `stream`).
 *
 * @example
 * const bar = createProgress({ label: 'epoch 1/3', total: 100 });
 * bar.update(10, { loss: 1.23 });
 * bar.finish();
 */
export function createProgress(options: {
  label: string;
  total: number;
  enabled?: boolean;
  stream?: NodeJS.WriteStream | { isTTY?: boolean; columns?: number; write(s: string): unknown };
}): Progress {
  const stream = options.stream ?? (typeof process !== 'undefined' ? process.stderr : undefined);
  const enabled = (options.enabled ?? true) && !!stream && !!stream.isTTY;
  const start = Date.now();
  let last = 0;
  const render = (done: number, fields: Record<string, string | number>, final: boolean) => {
    if (!enabled || !stream) return;
    const now = Date.now();
    if (!final && now - last < 100) return;
    last = now;
    const frac = options.total > 0 ? Math.min(1, done / options.total) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = (now - start) / 1000;
    const eta = frac > 0 ? (elapsed * (1 - frac)) / frac : Infinity;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(4)) : v}`)
      .join('  ');
    const line = `${options.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${options.total}  ${extra}  ETA ${fmtTime(eta)}`;
    const cols = (stream as { columns?: number }).columns ?? 120;
    stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
  };
  return {
    update: (done, fields = {}) => render(done, fields, false),
    finish: (message) => {
      if (!enabled || !stream) return;
      stream.write(`\r\x1b[K${message ? `${message}\n` : ''}`);
    },
  };
}
