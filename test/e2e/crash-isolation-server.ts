/**
 * A test-only Gantry server for crash-isolation.test.ts: the shipped gadgets
 * plus `CrashTestGadget`, which fails in the way its `mode` property names,
 * with the process-level crash guard installed as `gantry serve` does.
 *
 * It starts only when GANTRY_CRASH_TEST_SERVER=1 (the test runner also loads
 * every file under dist/test, and must find nothing to run here). It logs
 * `gantry listening` with its port, like `gantry serve`; SIGUSR2 makes it
 * throw from a timer that belongs to no session.
 */
import { shippedConfigDir } from '../../src/config/index.js';
import { defineGadget, commonProperties, type AnyGadgetDefinition } from '../../src/engine/gadget.js';
import { Registry } from '../../src/engine/registry.js';
import { allGadgets } from '../../src/gadgets/index.js';
import { isAcquisition, type Message } from '../../src/ismrmrd/messages.js';
import { mergeProtocolLimits, mergeSessionLimits } from '../../src/protocol/limits.js';
import { installCrashGuard } from '../../src/server/crash-guard.js';
import { GantryTcpServer } from '../../src/server/tcp-server.js';
import { createLogger } from '../../src/util/logger.js';

/** How CrashTestGadget fails on its first acquisition. */
export const CRASH_MODES = ['throw', 'timer', 'immediate', 'promise', 'tick'] as const;

/** A gadget for tests only: passes acquisitions through, failing on the first as `mode` says. */
export const crashTestGadget: AnyGadgetDefinition = defineGadget({
  name: 'CrashTestGadget',
  classNames: ['CrashTestGadget'],
  properties: { ...commonProperties, mode: { type: 'enum', values: CRASH_MODES, default: 'throw' } },
  strict: true,
  description: 'Test aid: fails on the first acquisition (throw, or from a timer, immediate, tick or unawaited promise)',
  accepts: (m: Message): m is Message => isAcquisition(m),
  async run(input, output, props, context) {
    let first = true;
    for await (const message of input) {
      if (first) {
        first = false;
        const error = new Error(`CrashTestGadget failed on purpose (${props.mode})`);
        switch (props.mode) {
          case 'throw':
            throw error;
          case 'timer':
            setTimeout(() => {
              throw error;
            }, 5);
            break;
          case 'immediate':
            setImmediate(() => {
              throw error;
            });
            break;
          case 'tick':
            process.nextTick(() => {
              throw error;
            });
            break;
          case 'promise':
            void Promise.reject(error);
            break;
        }
        // the failure has to land while the session still runs: wait for the session to be stopped
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 20_000);
          context.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
      }
      await output.push(message);
    }
  },
});

async function main(): Promise<void> {
  const log = createLogger('info');
  installCrashGuard(log);
  const server = new GantryTcpServer({
    host: '127.0.0.1',
    port: 0,
    configDirs: [shippedConfigDir()],
    registry: new Registry([...allGadgets, crashTestGadget]),
    limits: mergeProtocolLimits(),
    sessionLimits: mergeSessionLimits({ sessionTimeoutMs: 60_000 }),
    channelCapacity: 64,
    idleTimeoutMs: 30_000,
    lingerMs: 1_000,
    maxSessions: 64,
    log,
  });
  const address = await server.listen();
  log.info('gantry listening', { host: address.address, port: address.port });
  process.once('SIGTERM', () => {
    server.close(2_000, 1_000).then(() => process.exit(0), () => process.exit(1));
  });
  process.on('SIGUSR2', () => {
    setTimeout(() => {
      throw new Error('failure outside any session (SIGUSR2)');
    }, 1);
  });
}

if (process.env['GANTRY_CRASH_TEST_SERVER'] === '1') await main();
