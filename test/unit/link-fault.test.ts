// The link buffer a worker's queue posts its fault through (queue/worker-queue.ts, postFault and
// postedFault): the first fault wins, a long reason is cut before a whole character (never in the
// middle of one), and a length written by someone else is clamped into the buffer, never thrown on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FAULT_POSTED, LINK_BYTES, LINK_FAULT, postedFault, postFault } from '../../src/queue/worker-queue.js';

const LINK_FAULT_LENGTH = 2; // the entry postedFault reads the length from (worker-queue.ts)

describe('worker fault through the link buffer', () => {
  test('the first fault is posted and read back; a second is ignored', () => {
    const link = new SharedArrayBuffer(LINK_BYTES);
    postFault(link, 'M2S ring 0: head moved more than 1024 slots past tail');
    postFault(link, 'a later fault');
    assert.equal(Atomics.load(new Int32Array(link), LINK_FAULT), FAULT_POSTED);
    assert.equal(postedFault(link), 'M2S ring 0: head moved more than 1024 slots past tail');
  });

  test('a long reason is cut before the character that does not fit, never inside it', () => {
    for (let lead = 0; lead < 4; lead++) {
      // `lead` ASCII bytes, then 3-byte characters: the cut falls at every position inside one.
      const reason = `${'x'.repeat(lead)}${'€'.repeat(60)}`;
      const link = new SharedArrayBuffer(LINK_BYTES);
      postFault(link, reason);
      const got = postedFault(link);
      assert.ok(!got.includes('\ufffd'), `lead ${lead}: no replacement character in ${JSON.stringify(got)}`);
      assert.ok(reason.startsWith(got), `lead ${lead}: a prefix of the reason`);
      assert.ok(Buffer.byteLength(got) > LINK_BYTES - 12 - 3, `lead ${lead}: all the whole characters that fit`);
    }
  });

  test('a length out of range, written by another holder of the buffer, is clamped', () => {
    for (const length of [-1, -0x80000000, 0x7fffffff, 0]) {
      const link = new SharedArrayBuffer(LINK_BYTES);
      postFault(link, 'abc');
      Atomics.store(new Int32Array(link), LINK_FAULT_LENGTH, length);
      let got: string | undefined;
      assert.doesNotThrow(() => {
        got = postedFault(link);
      }, `length ${length}`);
      assert.ok(typeof got === 'string' && Buffer.byteLength(got) <= LINK_BYTES - 12, `length ${length}: ${got}`);
      if (length > 0) assert.ok(got?.startsWith('abc'), `length ${length}: the text is read`);
    }
  });
});
