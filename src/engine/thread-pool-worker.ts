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
 * finished slices alive: a young-generation collection after each task
 * drops the views at once (about a millisecond).
 */
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as (options?: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

const port = parentPort;
if (!port) throw new Error('Cannot run the compute worker outside a worker thread');
const { moduleUrl } = workerData as { moduleUrl: string };
const loading = import(moduleUrl) as Promise<ComputeTaskModule>;

port.on('message', (job: { id: number; name: string; args: unknown }) => {
  loading.then(
    (module) => {
      const task = module.tasks[job.name];
      if (!task) throw new Error(`no task named ${job.name}`);
      const result = (task as (a: unknown) => unknown)(job.args);
      port.postMessage({ id: job.id, ok: true, result });
      job.args = undefined;
      collect({ type: 'minor' });
    },
  ).catch((err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ id: job.id, ok: false, message: e.message, name: e.name, ...(e.stack ? { stack: e.stack } : {}) });
  });
});
