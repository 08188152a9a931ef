import { createRequire } from 'node:module';

type Xattr = typeof import('@napi-rs/xattr');
let addon: Xattr | undefined;

/** The @napi-rs/xattr addon, loaded on first use: commands that restore nothing never load it. */
export function extendedAttributes(): Xattr {
  return (addon ??= createRequire(import.meta.url)('@napi-rs/xattr') as Xattr);
}
