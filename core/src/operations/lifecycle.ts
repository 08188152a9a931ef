import type { Runtime } from '../Runtime.js';
import type { Operation, OperationEvent } from '../types.js';

/**
 * Runs an operation between the lifecycle hooks. A failing lifecycle tap (a notification that could not
 * be sent) is reported as a warning and never changes the operation's outcome.
 */
export async function runOperation<T>(
  runtime: Runtime,
  operation: Operation,
  facts: Omit<OperationEvent, 'operation' | 'startedAt'>,
  body: (event: OperationEvent) => Promise<T>,
): Promise<T> {
  const { hooks } = runtime.pipeline;
  const event: OperationEvent = { operation, startedAt: new Date(), ...facts };
  const quietly = async (call: () => Promise<void>) => {
    try {
      await call();
    } catch (error) {
      runtime.log.warn(`${operation}: lifecycle hook failed: ${(error as Error).message}`);
    }
  };
  await quietly(() => hooks.started.promise(event));
  try {
    const result = await body(event);
    await quietly(() => hooks.succeeded.promise(event, result));
    return result;
  } catch (error) {
    await quietly(() => hooks.failed.promise(event, error as Error));
    throw error;
  }
}
