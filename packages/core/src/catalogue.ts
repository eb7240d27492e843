import { SslError } from './errors';

/** What every registrable thing has: a unique name and a brand saying what kind it is. */
export interface Registrable {
  readonly name: string;
  readonly kind: string;
}

/**
 * The shared mechanism behind tasks, datasets, protocols and encoders: a map by name,
 * `.use()` to add (duplicates throw unless overridden), and lookups whose error lists the valid
 * names. Nothing registers itself at import time.
 *
 * @example
 * const reg = new NamedRegistry<MyThing>({ noun: 'dataset', kind: 'dataset' }).use([a, b]);
 * reg.find('mnist'); // throws 'Unknown dataset "mnsit". Must be one of [mnist, ...].' on a typo
 */
export class RegistryBase<T extends Registrable> {
  protected readonly items = new Map<string, T>();
  /** The word used in errors ("method", "dataset", "protocol", "encoder"). */
  readonly noun: string;
  /** The brand (`kind`) every item must carry. */
  readonly kind: string;
  private readonly hint: string;

  constructor(options: { noun: string; kind: string; hint?: string }) {
    this.noun = options.noun;
    this.kind = options.kind;
    this.hint = options.hint ?? '';
  }

  protected add(items: readonly T[], override: boolean): void {
    for (const item of items) {
      if (!item || typeof item !== 'object' || item.kind !== this.kind) {
        throw new SslError(
          `Cannot add ${describe(item)} to the ${this.noun} registry: it was not built with the ${this.noun}'s define function (kind "${this.kind}").`,
        );
      }
      const existing = this.items.get(item.name);
      if (existing && existing !== item && !override) {
        throw new SslError(`Duplicate ${this.noun} "${item.name}": already registered. Rename one, or pass { override: true } to replace it.`);
      }
      this.items.set(item.name, item);
    }
  }

  /** True when an item of that name is registered. */
  has(name: string): boolean {
    return this.items.has(name);
  }

  /** The item called `name`; an unknown name throws one line listing the valid ones. */
  find(name: string): T {
    const item = this.items.get(name);
    if (!item) throw new SslError(`Unknown ${this.noun} "${name}". Must be one of [${this.names().join(', ')}].${this.hint ? ` ${this.hint}` : ''}`);
    return item;
  }

  /** Registered names, sorted. */
  names(): string[] {
    return [...this.items.keys()].sort();
  }

  /** Every registered item, sorted by name. */
  list(): T[] {
    return this.names().map((n) => this.items.get(n)!);
  }
}

function describe(x: unknown): string {
  if (x && typeof x === 'object' && 'name' in x) return `"${String((x as { name: unknown }).name)}"`;
  return typeof x;
}

/**
 * The one registry mechanism behind datasets, protocols and encoders (tasks use the same base,
 * with a typed `use`): `.use()` adds one item or a list and returns the registry.
 *
 * @example
 * const datasets = new NamedRegistry<AnyDataset>({ noun: 'dataset', kind: 'dataset' }).use(builtinDatasets);
 */
export class NamedRegistry<T extends Registrable> extends RegistryBase<T> {
  /**
   * Adds one item or a list. A name that is already taken by another item throws, naming it,
   * unless `{ override: true }`.
   */
  use(items: T | readonly T[], options: { override?: boolean } = {}): this {
    this.add(Array.isArray(items) ? (items as readonly T[]) : [items as T], options.override ?? false);
    return this;
  }
}
