import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { gcFunction } from '../util/gc.js';
import { Channel, ChannelClosedError, forEachMessage } from './channel.js';

/** Lets pending promise callbacks run (several microtask turns and one macrotask). */
async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise has settled, and how. */
function track<T>(p: Promise<T>): { readonly state: 'pending' | 'resolved' | 'rejected'; readonly reason: unknown } {
  const t = { state: 'pending' as 'pending' | 'resolved' | 'rejected', reason: undefined as unknown };
  p.then(() => { t.state = 'resolved'; }, (err: unknown) => { t.state = 'rejected'; t.reason = err; });
  return t;
}

async function drain<T>(ch: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of ch) out.push(v);
  return out;
}

test('Channel delivers items in push order and ends after a clean close', async () => {
  const ch = new Channel<number>(8);
  for (let i = 0; i < 5; i++) await ch.push(i);
  assert.equal(ch.size, 5);
  ch.close();
  assert.equal(ch.isClosed, true);
  assert.deepEqual(await drain(ch), [0, 1, 2, 3, 4]);
  assert.equal(ch.size, 0);
});

test('Channel keeps order across many items with a small capacity (buffer compaction)', async () => {
  const ch = new Channel<number>(3);
  const n = 3000;
  const producer = (async () => {
    for (let i = 0; i < n; i++) await ch.push(i);
    ch.close();
  })();
  const got = await drain(ch);
  await producer;
  assert.equal(got.length, n);
  for (let i = 0; i < n; i++) assert.equal(got[i], i);
});

test('Channel refuses a capacity below one', () => {
  assert.throws(() => new Channel(0), RangeError);
  assert.throws(() => new Channel(Number.NaN), RangeError);
  assert.throws(() => new Channel(-3), RangeError);
});

test('Channel push blocks at capacity until a read makes room', async () => {
  const ch = new Channel<string>(2);
  await ch.push('a');
  await ch.push('b');
  const third = track(ch.push('c'));
  const fourth = track(ch.push('d'));
  await settle();
  assert.equal(third.state, 'pending', 'a push into a full channel waits');
  assert.equal(fourth.state, 'pending');
  assert.equal(ch.size, 2);

  const it = ch[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), { value: 'a', done: false });
  await settle();
  assert.equal(third.state, 'resolved', 'one read lets one waiting push in');
  assert.equal(fourth.state, 'pending', 'the second waiting push still waits');
  assert.equal(ch.size, 2);

  assert.deepEqual(await it.next(), { value: 'b', done: false });
  await settle();
  assert.equal(fourth.state, 'resolved');
  ch.close();
  assert.deepEqual(await it.next(), { value: 'c', done: false });
  assert.deepEqual(await it.next(), { value: 'd', done: false });
  assert.equal((await it.next()).done, true);
});

test('Channel wakes a waiting reader on push and on close', async () => {
  const ch = new Channel<number>(4);
  const it = ch[Symbol.asyncIterator]();
  const first = it.next();
  await settle();
  await ch.push(7);
  assert.deepEqual(await first, { value: 7, done: false });
  const second = track(it.next());
  await settle();
  assert.equal(second.state, 'pending', 'a reader on an empty open channel waits');
  ch.close();
  await settle();
  assert.equal(second.state, 'resolved');
  assert.equal((await it.next()).done, true);
});

test('Channel push after a clean close rejects with ChannelClosedError', async () => {
  const ch = new Channel<number>(2);
  ch.close();
  await assert.rejects(ch.push(1), (err: unknown) => {
    assert.ok(err instanceof ChannelClosedError);
    assert.equal(err.code, 'CHANNEL_CLOSED');
    assert.equal(err.cause, undefined);
    assert.match(err.message, /^Cannot push to a closed channel/);
    return true;
  });
});

test('Channel closed with an error delivers buffered items, then throws that error', async () => {
  const ch = new Channel<number>(4);
  await ch.push(1);
  await ch.push(2);
  const cause = new Error('upstream failed');
  ch.close(cause);
  const got: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const v of ch) got.push(v);
    })(),
    (err: unknown) => err === cause,
  );
  assert.deepEqual(got, [1, 2]);
  await assert.rejects(ch.push(3), (err: unknown) => err instanceof ChannelClosedError && err.cause === cause);
});

test('Channel close rejects pushes that were waiting for room and is idempotent', async () => {
  const ch = new Channel<number>(1);
  await ch.push(1);
  const waiting = track(ch.push(2));
  await settle();
  assert.equal(waiting.state, 'pending');
  const cause = new Error('first');
  ch.close(cause);
  ch.close(new Error('second'));
  ch.close();
  await settle();
  assert.equal(waiting.state, 'rejected');
  assert.ok(waiting.reason instanceof ChannelClosedError);
  assert.equal((waiting.reason as ChannelClosedError).cause, cause, 'a later close does not replace the first reason');
  await assert.rejects(drain(ch), (err: unknown) => err === cause);
});

test('Channel discard unblocks waiting pushers, drops buffered items and swallows later pushes', async () => {
  const ch = new Channel<number>(2);
  await ch.push(1);
  await ch.push(2);
  const a = track(ch.push(3));
  const b = track(ch.push(4));
  await settle();
  assert.equal(a.state, 'pending');
  ch.discard();
  await settle();
  assert.equal(a.state, 'resolved');
  assert.equal(b.state, 'resolved');
  assert.equal(ch.size, 0);
  for (let i = 0; i < 100; i++) await ch.push(i);
  assert.equal(ch.size, 0, 'nothing is stored after discard');
  ch.close();
  await ch.push(5);
  assert.deepEqual(await drain(ch), []);
});

/** Yields `n` times: odd counts use macrotasks, even ones microtasks, so schedules differ in kind as well as length. */
async function pause(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (n % 2 === 1) await new Promise<void>((resolve) => setImmediate(resolve));
    else await Promise.resolve();
  }
}

test('Channel loses, duplicates and reorders nothing under random producer/consumer interleavings', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 40 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 20 }),
      async (capacity, producerPauses, consumerPauses) => {
        const ch = new Channel<[number, number]>(capacity);
        let maxSize = 0;
        const producers = producerPauses.map(async (pauses, p) => {
          for (let i = 0; i < pauses.length; i++) {
            await pause(pauses[i] as number);
            await ch.push([p, i]);
            maxSize = Math.max(maxSize, ch.size);
          }
        });
        const closer = Promise.all(producers).then(() => ch.close());
        const got: [number, number][] = [];
        let k = 0;
        for await (const item of ch) {
          got.push(item);
          maxSize = Math.max(maxSize, ch.size);
          await pause(consumerPauses[k++ % consumerPauses.length] as number);
        }
        await closer;
        assert.ok(maxSize <= capacity, `buffer grew to ${maxSize} with capacity ${capacity}`);
        const total = producerPauses.reduce((s, x) => s + x.length, 0);
        assert.equal(got.length, total);
        producerPauses.forEach((pauses, p) => {
          const mine = got.filter(([q]) => q === p).map(([, i]) => i);
          assert.deepEqual(mine, pauses.map((_, i) => i), `producer ${p}'s items arrive once each, in order`);
        });
      },
    ),
    { seed: 0x5eed, numRuns: 100 },
  );
});

test('Channel.offer adds at once while there is room, refuses when full, closed or behind a waiting push, and keeps order', async () => {
  const ch = new Channel<number>(2);
  assert.equal(ch.offer(1), true);
  assert.equal(ch.offer(2), true);
  assert.equal(ch.offer(3), false, 'full');
  const waiting = track(ch.push(3));
  const reader = ch[Symbol.asyncIterator]();
  const first = reader.next();
  assert.equal(ch.size, 1, 'the reader took 1 and woke the push of 3, which has not run yet');
  assert.equal(ch.offer(4), false, 'no overtaking a woken push');
  assert.deepEqual(await first, { value: 1, done: false });
  await settle();
  assert.equal(waiting.state, 'resolved');
  assert.deepEqual(await reader.next(), { value: 2, done: false });
  assert.equal(ch.offer(4), true);
  ch.close();
  assert.equal(ch.offer(5), false, 'closed');
  assert.deepEqual(await drain({ [Symbol.asyncIterator]: () => reader }), [3, 4]);
  const discarding = new Channel<number>(1);
  discarding.discard();
  assert.equal(discarding.offer(1), true, 'a discarding channel takes and drops everything');
  assert.equal(discarding.size, 0);
});

/** True once `target` has been garbage collected, polling with major GCs for up to a second. */
async function collectedWithin(register: (fr: FinalizationRegistry<string>) => void): Promise<boolean> {
  const gc = gcFunction();
  assert.ok(gc, 'gc() is available');
  let collected = false;
  const registry = new FinalizationRegistry<string>(() => {
    collected = true;
  });
  register(registry);
  for (let i = 0; i < 20 && !collected; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return collected;
}

test('forEachMessage does not keep the last message alive while it waits for the next', async () => {
  const channel = new Channel<{ data: Float32Array }>(4);
  let handled = 0;
  const consumer = forEachMessage(channel, (m) => {
    handled += m.data.length > 0 ? 1 : 0;
  });
  const collected = collectedWithin((fr) => {
    const message = { data: new Float32Array(1 << 20) };
    fr.register(message, 'message');
    void channel.push(message);
  });
  assert.ok(await collected, 'the message was collected while the consumer waited for the next');
  assert.equal(handled, 1);
  channel.close();
  await consumer;
});
