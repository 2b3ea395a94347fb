// A hostile SLAVE offering a region larger than the runtime's largest ArrayBuffer (4 GiB on
// Node 20): 4 GiB + 4 KiB on a sparse memfd (no memory is used; on Node 22+ see BEYOND_ADDRESS_SPACE). The master refuses it before
// mapping, with a typed error, leaves nothing mapped and keeps serving. Before the fix the addon
// aborted the process with a double free (Node ran the external buffer's finalizer inside the
// failed creation, and Map()'s error path freed again); the second test calls the addon directly
// to keep that path honest, under the AddressSanitizer run too.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { native } from '../../src/native.js';
import { MAX_REGION_SIZE } from '../../src/shm/region.js';
import { encodeAddRegion } from '../../src/wire/messages.js';
import { assertReleased } from '../helpers/hostile.js';
import { bound, MasterArena, refused } from '../helpers/master-arena.js';
import { snapshot } from '../helpers/resources.js';

const T = { timeout: 20_000 };

/**
 * Node 22 and later allow ArrayBuffers of up to 2^53 − 1 bytes: no memfd can be that large (the
 * kernel refuses it with EINVAL) and no mapping either (the address space ends at 2^47), so the
 * region is a size field only, backed by a small memfd (the master refuses the size before it
 * looks at the fd), and the addon cannot be asked to map it.
 */
const BEYOND_ADDRESS_SPACE = MAX_REGION_SIZE >= 2 ** 47;

describe('regions the runtime cannot map', () => {
  const arena = new MasterArena();
  before(() => arena.start());
  after(() => arena.stop());

  test(`a region of ${MAX_REGION_SIZE} + 4096 bytes is refused before mapping`, T, () =>
    arena.attack('region over the runtime limit', {}, async (a) => {
      const s = a.slave();
      await bound(a, s);
      const b = native();
      const size = MAX_REGION_SIZE + 4096;
      const fd = b.memfdCreate('huge', BEYOND_ADDRESS_SPACE ? 4096 : size); // sparse: costs no memory
      try {
        s.send(encodeAddRegion({ index: 0, size: BigInt(size) }), fd);
      } finally {
        b.close(fd);
      }
      await refused(a, s, 'MEMIF_ERR_MFMSG', /invalid region size/);
    }),
  );

  test('the addon itself refuses such a mapping without a double free or a leak', T, async (t) => {
    if (BEYOND_ADDRESS_SPACE) {
      t.skip(
        `Node ${process.version} maps up to ${MAX_REGION_SIZE} bytes: beyond the address space, nothing to refuse`,
      );
      return;
    }
    const b = native();
    const before = snapshot();
    const size = MAX_REGION_SIZE + 4096;
    const fd = b.memfdCreate('huge', size);
    try {
      for (let i = 0; i < 20; i++) assert.throws(() => b.map(fd, size));
    } finally {
      b.close(fd);
    }
    await assertReleased(before, 'refused mappings');
    // The addon still maps what it can.
    const fd2 = b.memfdCreate('small', 4096);
    const ab = b.map(fd2, 4096);
    new Uint8Array(ab).fill(7);
    assert.equal(b.unmap(ab), true);
    b.close(fd2);
    await assertReleased(before, 'a mapping after the refused ones');
  });
});
