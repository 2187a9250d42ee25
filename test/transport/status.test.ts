/**
 * src/status.ts: the memory a status report shows is what the process keeps,
 * read after collections that leave no garbage behind.
 */
import { settleMemory } from '../../src/status.js';

test('settleMemory: garbage made just before is gone from the heap figure it leaves', async () => {
  expect(await settleMemory()).toBe(true);
  const before = process.memoryUsage().heapUsed;
  let junk: Array<{ i: number; s: string }> | null = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `entry-${i}-${'x'.repeat(24)}` }));
  expect(process.memoryUsage().heapUsed - before).toBeGreaterThan(10 * 1024 * 1024);
  expect(junk.length).toBe(200_000);
  junk = null;
  expect(await settleMemory()).toBe(true);
  expect(junk).toBeNull();
  expect(process.memoryUsage().heapUsed).toBeLessThan(before + 2 * 1024 * 1024);
});
