/**
 * Chooses the dependency store from command-line settings: a storage server
 * URL (mrd-storage-server API), a folder, the default folder, or none.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '../util/logger.js';
import { FolderStore } from './folder-store.js';
import { InstrumentedStore } from './instrumented-store.js';
import { RestStore } from './rest-client.js';
import type { DependencyStore } from './types.js';

/** Settings that pick a store. */
export interface StoreSettings {
  /** A storage folder; ignored when `url` is given. */
  dir?: string;
  /** An mrd-storage-server compatible base URL. */
  url?: string;
  /** No store at all (dependencies cannot be saved or loaded). */
  disabled?: boolean;
}

/** The default storage folder: $GANTRY_STORAGE_DIR, else ~/.gantry/storage. */
export function defaultStorageDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.GANTRY_STORAGE_DIR;
  return fromEnv && fromEnv !== '' ? resolve(fromEnv) : join(homedir(), '.gantry', 'storage');
}

/** Opens the store the settings name, wrapped so that every save and load is logged and counted; undefined when disabled. */
export function openDependencyStore(settings: StoreSettings, log: Logger): DependencyStore | undefined {
  if (settings.disabled) return undefined;
  const inner = settings.url !== undefined && settings.url !== ''
    ? new RestStore(settings.url)
    : new FolderStore(resolve(settings.dir ?? defaultStorageDir()));
  return new InstrumentedStore(inner, log.child({ component: 'storage' }));
}

/**
 * Checks a store at start-up, retrying for `waitMs`; resolves with the reason
 * it is unusable (logged by the caller), or undefined when it is fine. A
 * store that is down does not stop the server: sessions that need it get a
 * warning instead.
 */
export async function checkDependencyStore(store: DependencyStore, waitMs = 0): Promise<string | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await store.health();
      return undefined;
    } catch (err) {
      if (Date.now() >= deadline) return err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
