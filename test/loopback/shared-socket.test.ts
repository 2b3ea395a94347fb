// Several master interfaces share one socket path (told apart by id), and the socket's own
// settings — its file's mode and owner, the instance name in its HELLO — come from the first. A
// later master asking for others is refused with an InvalidArgumentError naming each difference;
// one asking for the same joins, and both serve their slaves.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InvalidArgumentError, Memif } from '../../src/index.js';
import { exchange } from '../helpers/hostile.js';
import { type TempDir, tempDir } from '../helpers/tmp.js';

describe('masters sharing one socket path', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir('memif-shared-');
  });
  after(() => tmp.remove());

  test('other socket options are refused, naming the difference; the same ones join', { timeout: 20_000 }, async () => {
    const socketPath = tmp.socket();
    const first = await Memif.create({ role: 'master', socketPath, id: 0, socketMode: 0o660, instanceName: 'vnf-a' });
    const opened: Memif[] = [first];
    try {
      const refusals: [Record<string, unknown>, RegExp][] = [
        [{ socketMode: 0o600, instanceName: 'vnf-a' }, /socketMode 0o600 \(the socket has 0o660\)/],
        [{ socketMode: 0o660, instanceName: 'vnf-b' }, /instanceName "vnf-b" \(its HELLO says "vnf-a"\)/],
        [
          { socketMode: 0o660, instanceName: 'vnf-a', socketOwner: { uid: 0, gid: 0 } },
          /socketOwner 0:0 \(the socket has unchanged\)/,
        ],
        [{ socketMode: 0o644, instanceName: 'vnf-c' }, /socketMode 0o644 .*, instanceName "vnf-c"/],
      ];
      for (const [extra, message] of refusals) {
        await assert.rejects(Memif.create({ role: 'master', socketPath, id: 1, ...extra }), (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError);
          assert.equal(err.errorName, 'MEMIF_ERR_INVAL_ARG');
          assert.match(err.message, message);
          return true;
        });
      }
      // The same settings join, and a refused id stayed free.
      const second = await Memif.create({
        role: 'master',
        socketPath,
        id: 1,
        socketMode: 0o660,
        instanceName: 'vnf-a',
      });
      opened.push(second);
      const s0 = await Memif.create({ role: 'slave', socketPath, id: 0, rxMode: 'polling' });
      const s1 = await Memif.create({ role: 'slave', socketPath, id: 1, rxMode: 'polling' });
      opened.push(s0, s1);
      await Promise.all(opened.map((m) => m.waitForConnect({ timeoutMs: 10_000 })));
      assert.equal(s1.details().remoteName, 'vnf-a');
      await exchange(first, s0, 'shared socket, id 0');
      await exchange(second, s1, 'shared socket, id 1');
    } finally {
      for (const m of opened.reverse()) await m.close();
    }
  });
});
