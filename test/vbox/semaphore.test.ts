/**
 * Semaphore: FIFO hand-over, and `urgent` waiters (the read that finishes a
 * change already made) served before ordinary ones, FIFO among themselves.
 */
import { Semaphore } from '../../src/vbox/semaphore.js';

test('urgent waiters go first, in their own arrival order; the bound holds', async () => {
  const sem = new Semaphore(1);
  const order: string[] = [];
  await sem.acquire();
  const waits = [
    sem.acquire().then(() => order.push('a')),
    sem.acquire().then(() => order.push('b')),
    sem.acquire(true).then(() => order.push('U1')),
    sem.acquire().then(() => order.push('c')),
    sem.acquire(true).then(() => order.push('U2')),
  ];
  for (let i = 0; i < waits.length; i++) {
    expect(sem.inUse).toBe(1);
    sem.release();
    await new Promise((r) => setImmediate(r));
    expect(order).toHaveLength(i + 1);
  }
  await Promise.all(waits);
  expect(order).toEqual(['U1', 'U2', 'a', 'b', 'c']);
  sem.release();
  expect(sem.inUse).toBe(0);
  expect(sem.maxSeen).toBe(1);
});

test('an urgent acquire with a free slot does not wait, and releases keep the count right', async () => {
  const sem = new Semaphore(2);
  await sem.acquire(true);
  await sem.acquire();
  expect(sem.inUse).toBe(2);
  let got = false;
  const p = sem.acquire(true).then(() => (got = true));
  await new Promise((r) => setImmediate(r));
  expect(got).toBe(false);
  sem.release();
  await p;
  sem.release();
  sem.release();
  expect(sem.inUse).toBe(0);
});
