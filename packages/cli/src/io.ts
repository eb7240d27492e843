/** Where the CLI writes: results to `out` (stdout), logs and progress to `err` (stderr). */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** The process's stdout/stderr; `SSL_QUIET=1` silences logs. */
export const processIo: Io = {
  out: (line) => process.stdout.write(line.endsWith('\n') ? line : `${line}\n`),
  err: (line) => {
    if (process.env.SSL_QUIET !== '1') process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
  },
};
