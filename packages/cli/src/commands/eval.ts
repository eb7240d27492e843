import { SslError } from '@ssl/core';
import { parseLabelFraction } from '@ssl/eval';
import { evaluateRun, type Catalogue } from '@ssl/runner';
import { numberFlag, parseFlags } from '../args';
import type { Io } from '../io';

const evalHelp = (catalogue: Catalogue) => `Usage: ssl eval --run DIR [--protocol P] [--labels 1%|10%|100%] [--json]

Evaluates a pretrained encoder (DIR/encoder) beside the same encoder at random init.
  --protocol   default: the dataset's (linear for image classes). One of:
${catalogue.protocols
  .list()
  .map((p) => `               ${p.name}: ${p.summary}`)
  .join('\n')}
  --labels     fraction of labelled training items (class-balanced, seeded); default 100%
  --epochs N   fine-tuning epochs (default 5)
  --backend B  tensorflow | wasm | cpu
  --json       print one JSON object
`;

/** `ssl eval`: measure a run's encoder with a protocol, beside random init. */
export async function evalCommand(argv: string[], io: Io, catalogue: Catalogue): Promise<number> {
  const { values } = parseFlags('eval', argv, {
    run: { type: 'string' },
    protocol: { type: 'string' },
    labels: { type: 'string' },
    epochs: { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  } as const);
  if (values.help) {
    io.out(evalHelp(catalogue));
    return 0;
  }
  if (!values.run) throw new SslError('ssl eval needs --run DIR: the --out folder of `ssl pretrain`.');
  const fraction = parseLabelFraction(values.labels ?? '100%');
  const epochs = numberFlag('epochs', values.epochs);
  if (epochs !== undefined && (!Number.isInteger(epochs) || epochs < 1)) throw new SslError(`Invalid --epochs ${epochs}: must be a whole number ≥ 1.`);
  const r = await evaluateRun({
    run: values.run,
    ...(values.protocol ? { protocol: values.protocol } : {}),
    ...(epochs !== undefined ? { options: { epochs } } : {}),
    labelFraction: fraction,
    catalogue,
    ...(values.backend ? { backend: values.backend } : {}),
    log: io.err,
  });
  if (values.json) io.out(JSON.stringify(r));
  else {
    const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
    io.out(
      `${r.protocol} (${Math.round(fraction * 100)}% labels, ${r.metric}): pretrained ${pct(r.accuracy)}   random init ${pct(r.randomInitAccuracy)}   (${r.seconds.toFixed(0)} s on ${r.backend})`,
    );
  }
  return 0;
}
