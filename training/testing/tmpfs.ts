/**
 * A small tmpfs for file-system failure tests (ENOSPC on a full disk, EROFS on a read-only mount). It
 * needs `mount` with the right to use it (root in a container); where that fails the tests fall back
 * to an injected failure and say so.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  readonly dir: string;
  unmount(): void;
}

/** Mounts a tmpfs of `kib` KiB (read-only with `readOnly`) on a fresh folder, or undefined if not allowed. */
export function mountTmpfs(kib: number, readOnly = false): Tmpfs | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'pg-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k${readOnly ? ',ro' : ''}`, 'tmpfs', dir], {
    stdio: 'ignore',
  });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    unmount() {
      spawnSync('umount', [dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
