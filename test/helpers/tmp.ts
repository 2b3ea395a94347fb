// Temporary folders for sockets, removed after the test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  dir: string;
  /** A socket path inside the folder. */
  socket(name?: string): string;
  remove(): void;
}

export function tempDir(prefix = 'memif-ts-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    socket: (name = 'memif.sock') => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A unique abstract socket name ('@…'). */
export function abstractName(tag: string): string {
  return `@memif-ts-test-${tag}-${process.pid}-${Math.random().toString(36).slice(2)}`;
}
