import { appendFileSync } from 'node:fs';

/** A module customization hook: appends the URL of each ES module loaded to the file $RAST_TEST_LOADED_MODULES. */
export async function load(url: string, context: unknown, next: (url: string, context: unknown) => Promise<unknown>): Promise<unknown> {
  appendFileSync(process.env.RAST_TEST_LOADED_MODULES!, `${url}\n`);
  return next(url, context);
}
