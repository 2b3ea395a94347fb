// TypeDoc: the API reference, one page per class and interface, from the doc comments of what
// src/index.ts exports (`npm run docs`, output in out/api-docs/). Every warning is an error, and an
// export without documentation is a warning: test/docs/typedoc.test.ts runs this in `npm test`.
import { readFileSync } from 'node:fs';

// ErrorCodes' members are libmemif's names; docs/errors.md says when each happens.
const errorNames = [...readFileSync(new URL('./src/errors.ts', import.meta.url), 'utf8').matchAll(/^ {2}(MEMIF_ERR_\w+): \d+,$/gm)].map(
  (m) => `ErrorCodes.__type.${m[1]}`,
);
const errorClasses = ['MemifError', 'InvalidArgumentError', 'ProtocolError', 'PeerRefusedError', 'StateError', 'SystemError'];

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'memif-ts',
  entryPoints: ['src/index.ts'],
  tsconfig: 'tsconfig.json',
  out: 'out/api-docs',
  readme: 'none',
  excludePrivate: true,
  excludeProtected: true,
  excludeInternal: true,
  excludeExternals: true,
  // No source links: they would need a git remote, which a clean clone or a CI checkout may lack.
  disableSources: true,
  treatWarningsAsErrors: true,
  treatValidationWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  requiredToBeDocumented: [
    'Enum',
    'EnumMember',
    'Variable',
    'Function',
    'Class',
    'Interface',
    'Property',
    'Method',
    'Accessor',
    'TypeAlias',
    'Namespace',
  ],
  intentionallyNotDocumented: [
    ...errorNames,
    // the Symbol.for brand that makes instanceof work across copies (documented on Symbol.hasInstance)
    ...errorClasses.map((c) => `${c}.[brand]`),
  ],
  // Internal: how the listener talks to a master Memif; the numbers behind `Mode`.
  intentionallyNotExported: ['InterfaceMode'],
};
