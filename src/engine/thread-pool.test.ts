import test from 'node:test';
import assert from 'node:assert/strict';
import { ComputeTaskError, createComputePool, isShared, SENT_AHEAD, sharedFloat32, shareWith, URGENT_AHEAD } from './thread-pool.js';

const TASKS = new URL('./thread-pool-test-tasks.js', import.meta.url).href;
const { tasks } = await import(TASKS) as typeof import('./thread-pool-test-tasks.js');

function input(n: number): Float32Array {
  const a = sharedFloat32(n);
  for (let i = 0; i < n; i++) a[i] = (i % 17) - 8.5;
  return a;
}

test('a compute pool shares memory with its workers and returns results in submission order, as inline does', { timeout: 30_000 }, async () => {
  const n = 10_000;
  const x = input(n);
  const ranges: [number, number][] = [[0, 1000], [1000, 1500], [1500, 7000], [7000, 10_000]];
  const inline = createComputePool(TASKS, 0);
  const pool = createComputePool(TASKS, 2);
  try {
    assert.equal(inline.workers, 0);
    assert.equal(pool.workers, 2);
    const outInline = sharedFloat32(n);
    const outPool = sharedFloat32(n);
    const a = await inline.all<number>(ranges.map(([from, to]) => ['squares', { input: x, out: outInline, from, to }]));
    const b = await pool.all<number>(ranges.map(([from, to]) => ['squares', { input: x, out: outPool, from, to }]));
    assert.deepEqual(b, a, 'same sums, same order');
    assert.deepEqual(outPool, outInline, 'the workers wrote into the shared output');
    assert.equal(outPool[1234], (x[1234] as number) ** 2);
    assert.equal(await pool.run('where', {}), 'worker');
    assert.equal(await inline.run('where', {}), 'main');
  } finally {
    await pool.close();
    await inline.close();
  }
});

test('the caller\'s share of a batch waits for the caller while a worker is busy, and goes to a worker that has nothing', { timeout: 30_000 }, async () => {
  const pool = createComputePool(TASKS, 1);
  const here = (name: string, args: unknown): unknown => (name === 'busyWhere' ? 'main' : (tasks as Record<string, (a: unknown) => unknown>)[name]?.(args));
  try {
    await pool.run('where', {}); // the worker is up
    const batch = pool.all<string>([['busyWhere', { ms: 300 }], ['busyWhere', { ms: 0 }], ['busyWhere', { ms: 0 }]], { callerShare: 1 });
    assert.equal(pool.helpOnce(here), true, 'the last task waited in the queue for the caller');
    assert.equal(pool.helpOnce(here), false, 'the others went to the worker');
    assert.deepEqual(await batch, ['worker', 'worker', 'main']);
    assert.deepEqual(await pool.all<string>([['busyWhere', { ms: 0 }], ['where', {}]], { callerShare: 2 }), ['worker', 'worker'], 'an idle worker takes what the caller left');
  } finally {
    await pool.close();
  }
});

test('a failing task rejects its promise only; a worker that dies is replaced', { timeout: 30_000 }, async () => {
  const pool = createComputePool(TASKS, 1);
  try {
    await assert.rejects(pool.run('fail', { what: 'the impossible' }), (err: unknown) => {
      assert.ok(err instanceof ComputeTaskError);
      assert.match(err.message, /^Cannot do the impossible/, 'the task\'s own message, as inline');
      assert.equal(err.task, 'fail');
      assert.equal(err.remoteName, 'RangeError');
      return true;
    });
    await assert.rejects(pool.run('nothing', {}), /no task named nothing/);
    await assert.rejects(pool.run('crash', {}), /worker thread exited with code 3/);
    const out = sharedFloat32(4);
    assert.equal(await pool.run('squares', { input: Float32Array.of(1, 2, 3, 4), out, from: 0, to: 4 }), 30, 'a new worker took over');
    assert.deepEqual(Array.from(out), [1, 4, 9, 16]);
  } finally {
    await pool.close();
  }
});

test('a compute pool bounds its queue and rejects what is pending when closed', { timeout: 30_000 }, async () => {
  const pool = createComputePool(TASKS, 1, 2);
  const x = input(100_000);
  const out = sharedFloat32(x.length);
  const jobs = Array.from({ length: 12 }, (_v, k) => pool.run<number>('squares', { input: x, out, from: k * 8000, to: (k + 1) * 8000 }));
  const sums = await Promise.all(jobs);
  assert.equal(sums.length, 12);
  let expected = 0;
  for (let i = 0; i < 8000; i++) expected += (x[i] as number) ** 2;
  assert.ok(Math.abs((sums[0] as number) - expected) < 1e-6 * expected);
  const pending = [pool.run('squares', { input: x, out, from: 0, to: 100_000 }), pool.run('where', {})];
  const settling = Promise.allSettled(pending);
  await pool.close();
  const settled = await settling;
  assert.ok(settled.some((s) => s.status === 'rejected' && /closed/.test(String(s.reason))), 'pending work is rejected on close');
  await assert.rejects(pool.run('where', {}), /closed/);
});

test('shareWith copies plain memory into shared memory only for a pool with workers', () => {
  const plain = Float32Array.of(1, 2, 3);
  assert.equal(shareWith(createComputePool(TASKS, 0), plain), plain);
  const pool = createComputePool(TASKS, 1);
  const shared = shareWith(pool, plain);
  assert.ok(isShared(shared));
  assert.deepEqual(Array.from(shared), [1, 2, 3]);
  assert.equal(shareWith(pool, shared), shared);
  assert.throws(() => createComputePool(TASKS, -1), /Cannot create a compute pool of -1/);
});

test('an urgent task runs before the tasks already waiting', { timeout: 30_000 }, async () => {
  const pool = createComputePool(TASKS, 1, 16);
  try {
    const x = input(400_000);
    const out = sharedFloat32(x.length);
    const finished: string[] = [];
    const normal = Array.from({ length: 4 }, (_v, k) => pool.run('squares', { input: x, out, from: 0, to: x.length }).then(() => finished.push(`n${k}`)));
    const urgent = pool.run('where', {}, { urgent: true }).then(() => finished.push('u'));
    await Promise.all([...normal, urgent]);
    // The worker holds SENT_AHEAD tasks (the running one and the next): those finish first.
    const sent = Array.from({ length: SENT_AHEAD }, (_v, k) => `n${k}`);
    assert.deepEqual(finished.slice(0, SENT_AHEAD), sent, 'the tasks already sent to the worker finish first');
    assert.equal(finished[SENT_AHEAD], 'u', 'then the urgent one, ahead of those that waited');
    assert.deepEqual(finished.slice(SENT_AHEAD + 1), ['n0', 'n1', 'n2', 'n3'].slice(SENT_AHEAD));
  } finally {
    await pool.close();
  }
});

test('urgent tasks are sent further ahead than others: freeSlots and freeUrgentSlots', { timeout: 30_000 }, async () => {
  const pool = createComputePool(TASKS, 1, 16);
  try {
    assert.equal(pool.freeSlots, SENT_AHEAD);
    assert.equal(pool.freeUrgentSlots, URGENT_AHEAD);
    const x = input(400_000);
    const out = sharedFloat32(x.length);
    const normal = Array.from({ length: SENT_AHEAD + 2 }, () => pool.run('squares', { input: x, out, from: 0, to: x.length }));
    assert.equal(pool.freeSlots, 0, 'the worker holds SENT_AHEAD tasks and two wait');
    assert.equal(pool.freeUrgentSlots, URGENT_AHEAD - SENT_AHEAD, 'urgent tasks may still be sent');
    const urgent = Array.from({ length: URGENT_AHEAD - SENT_AHEAD + 1 }, () => pool.run<string>('where', {}, { urgent: true }));
    assert.equal(pool.freeUrgentSlots, 0, 'the worker holds URGENT_AHEAD tasks and one urgent task waits');
    assert.deepEqual(await Promise.all(urgent), urgent.map(() => 'worker'));
    await Promise.all(normal);
    assert.equal(pool.freeUrgentSlots, URGENT_AHEAD);
  } finally {
    await pool.close();
  }
  assert.equal(createComputePool(TASKS, 0).freeUrgentSlots, 0);
});

test('helpOnce runs the newest waiting task that is not urgent on the calling thread', { timeout: 30_000 }, async () => {
  const pool = createComputePool(TASKS, 1, 16);
  try {
    const ran: string[] = [];
    const jobs = Array.from({ length: SENT_AHEAD + 2 }, () => pool.run<string>('where', {}));
    const urgent = pool.run<string>('where', {}, { urgent: true });
    const helped = pool.helpOnce((name) => {
      ran.push(name);
      return 'here';
    });
    assert.equal(helped, true);
    assert.deepEqual(ran, ['where']);
    const results = await Promise.all(jobs);
    assert.equal(results[results.length - 1], 'here', 'the newest waiting task ran here');
    assert.notEqual(results[0], 'here', 'the others ran on the worker');
    assert.notEqual(await urgent, 'here', 'urgent tasks are left to the workers');
    assert.equal(pool.helpOnce(() => 'here'), false, 'nothing waits');
  } finally {
    await pool.close();
  }
  const inline = createComputePool(TASKS, 0);
  assert.equal(inline.helpOnce(() => 0), false);
  await inline.close();
});
