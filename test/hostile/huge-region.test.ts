// A hostile SLAVE offering a region larger than Node's largest ArrayBuffer (4 GiB on Node 20):
// 4 GiB + 4 KiB on a sparse memfd (no memory is used). The master must refuse it with a typed
// error, leave nothing mapped and keep serving.
//
// SKIPPED until the native fix (issue 8): today native/shm.cc Map() aborts the process with a
// double free. napi_create_external_arraybuffer fails for that size, but Node has already run the
// finalizer (FinalizeMapping: munmap + delete) when it returns; Map()'s error path then munmaps and
// deletes the same Mapping again. Under the AddressSanitizer run (npm run test:asan) it reports
// "attempting double-free" at shm.cc:109, freed at shm.cc:36. Remove KNOWN_BUG once fixed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { native } from '../../src/native.js';
import { encodeAddRegion } from '../../src/wire/messages.js';
import { bound, MasterArena, refused } from '../helpers/master-arena.js';

const KNOWN_BUG = 'native double free in native/shm.cc Map() (issue 8), fixed by lead: remove this skip then';
const T = { timeout: 15_000, skip: KNOWN_BUG };
const HUGE = 2 ** 32 + 4096;

describe('a region larger than the largest ArrayBuffer', () => {
  const arena = new MasterArena();
  before(() => arena.start());
  after(() => arena.stop());

  test('map() of 4 GiB + 4 KiB throws and leaves no mapping', T, () => {
    const b = native();
    const fd = b.memfdCreate('huge', HUGE);
    try {
      const before = b.mappingCount();
      assert.throws(() => b.map(fd, HUGE));
      assert.equal(b.mappingCount(), before);
    } finally {
      b.close(fd);
    }
  });

  test('ADD_REGION of 4 GiB + 4 KiB is refused, the master carries on', T, () =>
    arena.attack('4 GiB + 4 KiB region', {}, async (a) => {
      const s = a.slave();
      await bound(a, s);
      const fd = native().memfdCreate('huge', HUGE);
      try {
        s.send(encodeAddRegion({ index: 0, size: BigInt(HUGE) }), fd);
        await refused(a, s, ['MEMIF_ERR_SYSCALL', 'MEMIF_ERR_MFMSG'], /region/);
      } finally {
        native().close(fd);
      }
    }),
  );
});
