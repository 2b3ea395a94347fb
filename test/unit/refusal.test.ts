// The error a DISCONNECT reason maps to: the reasons VPP, libmemif, DPDK, gomemif and memif-ts send
// get their own code; anything else is MEMIF_ERR_DISCONNECT.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { refusalFromReason } from '../../src/control/session.js';
import { PeerRefusedError } from '../../src/index.js';

describe('refusalFromReason', () => {
  const cases: [string, string][] = [
    ['Incorrect secret', 'MEMIF_ERR_SECRET'], // VPP, DPDK
    ['Invalid secret', 'MEMIF_ERR_SECRET'], // gomemif
    ['secret required', 'MEMIF_ERR_NOSECRET'],
    ['ID not found', 'MEMIF_ERR_ID'], // DPDK
    ['unmatched interface id 7', 'MEMIF_ERR_ID'], // memif-ts
    ['Invalid interface id', 'MEMIF_ERR_ID'], // gomemif
    ['already connected', 'MEMIF_ERR_ALRCONN'],
    ['mode mismatch', 'MEMIF_ERR_MODE'],
    ['incompatible protocol version', 'MEMIF_ERR_PROTO'],
    ['not authorized', 'MEMIF_ERR_ACCES'],
    ['interface deleted', 'MEMIF_ERR_DISCONNECT'],
    ['', 'MEMIF_ERR_DISCONNECT'],
  ];
  for (const [reason, name] of cases) {
    test(`${JSON.stringify(reason)} → ${name}`, () => {
      const e = refusalFromReason(reason);
      assert.ok(e instanceof PeerRefusedError);
      assert.equal(e.errorName, name);
      assert.match(e.message, reason === '' ? /no reason given/ : new RegExp(reason));
    });
  }
});
