// The stage for attacks on our slave (the mirror of master-arena.ts): a bystander pair on a socket
// of its own and, per attack, a hostile master on a fresh socket with our slave (id 0, ring 16,
// no quick retry) against it. After each attack it checks what every attack must leave intact:
// the event loop kept turning, no fd or mapping left, few log lines, the bystander passing traffic.
import { Memif, type MemifOptions } from '../../src/index.js';
import {
  assertQuietLog,
  assertReleased,
  Bystander,
  type CountingLogger,
  countingLogger,
  drainOnInterrupt,
  Reports,
} from './hostile.js';
import { HostileMaster } from './hostile-master.js';
import { LoopWatch } from './liveness.js';
import { type Resources, snapshot } from './resources.js';
import { type TempDir, tempDir } from './tmp.js';

/** What an attack body gets. */
export interface Scene {
  hm: HostileMaster;
  slave: Memif;
  reports: Reports;
  /** Packets the slave read on its interrupts. */
  received: Buffer[];
  socketPath: string;
  /** Resources before the slave was created (the hostile listener already open). */
  before: Resources;
  logger: CountingLogger;
}

export class SlaveArena {
  readonly logger = countingLogger();
  #tmp: TempDir | undefined;
  #bystander: Bystander | undefined;
  #n = 0;

  async start(): Promise<this> {
    this.#tmp = tempDir('memif-hostile-m-');
    this.#bystander = await Bystander.start(this.#tmp.socket('bystander.sock'), this.logger);
    return this;
  }

  async stop(): Promise<void> {
    await this.#bystander?.close();
    this.#tmp?.remove();
  }

  /**
   * One hostile master on its own socket and our slave against it; then the checks. `connections`:
   * hostile connections the attack makes (for the log budget, 3 lines each); `listen` false: no
   * 'error' / 'disconnect' listener, so the slave's failures go to its logger.
   */
  async scene(
    label: string,
    slaveOptions: Partial<MemifOptions>,
    body: (sc: Scene) => Promise<void>,
    connections = 1,
    listen = true,
  ): Promise<void> {
    const tmp = this.#tmp as TempDir;
    const socketPath = tmp.socket(`hostile-${this.#n++}.sock`);
    const hm = new HostileMaster(socketPath);
    const before = snapshot();
    const mark = this.logger.loud();
    const loop = new LoopWatch();
    const slave = await Memif.create({
      role: 'slave',
      socketPath,
      id: 0,
      logger: this.logger,
      log2RingSize: 4,
      reconnectIntervalMs: 60_000,
      ...slaveOptions,
    });
    const reports = new Reports(listen ? slave : undefined);
    const received = drainOnInterrupt(slave);
    try {
      await body({ hm, slave, reports, received, socketPath, before, logger: this.logger });
      await loop.assertAlive(label);
    } finally {
      loop.stop();
      await slave.close();
      hm.close();
    }
    await assertReleased(before, label);
    assertQuietLog(this.logger, mark, 3 * connections, label);
    await this.#bystander?.check(label);
  }
}
