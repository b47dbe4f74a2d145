/**
 * Body of a compute-pool worker thread (see thread-pool.ts): loads the task
 * module named in `workerData.moduleUrl` and answers `{ id, name, args }`
 * with `{ id, ok, result }` or `{ id, ok: false, message }`, one task at a
 * time.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import type { ComputeTaskModule } from './thread-pool.js';

/*
 * A task's arguments are views of large shared buffers (a slice's k-space);
 * the buffers are freed only when every thread holding a view has collected
 * it. A worker allocates little, so its own GC would run rarely and keep
 * finished slices alive: a young-generation collection drops the views (1–3
 * ms). It runs at most every {@link COLLECT_EVERY_MS} while tasks keep
 * coming (a slice brings dozens of small ones: readout batches, frames),
 * and once the worker has been idle that long.
 */
const COLLECT_EVERY_MS = 100;
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as (options?: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

const port = parentPort;
if (!port) throw new Error('Cannot run the compute worker outside a worker thread');
const { moduleUrl } = workerData as { moduleUrl: string };
const loading = import(moduleUrl) as Promise<ComputeTaskModule>;
let lastCollect = 0;
let idleCollect: NodeJS.Timeout | undefined;

function collectYoung(): void {
  if (idleCollect) clearTimeout(idleCollect);
  idleCollect = undefined;
  collect({ type: 'minor' });
  lastCollect = performance.now();
}

function afterTask(): void {
  if (performance.now() - lastCollect >= COLLECT_EVERY_MS) {
    collectYoung();
  } else if (!idleCollect) {
    idleCollect = setTimeout(collectYoung, COLLECT_EVERY_MS);
    idleCollect.unref();
  }
}

port.on('message', (job: { id: number; name: string; args: unknown }) => {
  loading.then(
    (module) => {
      const task = module.tasks[job.name];
      if (!task) throw new Error(`no task named ${job.name}`);
      const result = (task as (a: unknown) => unknown)(job.args);
      port.postMessage({ id: job.id, ok: true, result });
      job.args = undefined;
      afterTask();
    },
  ).catch((err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ id: job.id, ok: false, message: e.message, name: e.name, ...(e.stack ? { stack: e.stack } : {}) });
  });
});
