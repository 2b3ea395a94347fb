// Loaded into every test process (`node --test --import ./out/test/helpers/hang-guard.js`): once
// the file's last test has ended, the process has 30 s to exit by itself. (The timer starts before
// a file's own top-level after() hooks run: keep those under that, or put them in a describe().) If something still holds
// the event loop (a test that timed out in the middle of an await never reached its `finally`, so
// an interface or a peer is still open), it exits with a failure instead of hanging the whole run.
// Node 20's --test-force-exit is not used: it cut files short and dropped test results at random.
import { after } from 'node:test';

/** The grace, in ms: 30 s, or MEMIF_TEST_HANG_GUARD_MS (the guard's own test uses a short one). */
const GRACE_MS = Number(process.env.MEMIF_TEST_HANG_GUARD_MS) || 30_000;

after(() => {
  setTimeout(() => {
    process.stderr.write(`hang guard: the event loop is still busy ${GRACE_MS} ms after the last test; exiting\n`);
    process.exit(process.exitCode || 1);
  }, GRACE_MS).unref();
});
