import type { WorkerStage } from '@rast-backup/core';
import { writeMessageInto } from './MessageWriter.js';

/** A part's session key, and its public-key encrypted packets made by openpgp.js on the main thread. */
export interface PartKeys {
  sessionKeyPackets: Uint8Array;
  sessionKey: Uint8Array;
  /** The literal data packet's file name: the part's key (see LiteralName). */
  literalName?: string;
}

/** The core's worker-thread stage of the OpenPGP transform: one message per part, written straight into the core's buffer. */
export default function encryptionStage(): WorkerStage {
  return (input, output, prepared, collect) => {
    const { sessionKeyPackets, sessionKey, literalName } = prepared as PartKeys;
    return writeMessageInto(output, sessionKeyPackets, sessionKey, input, collect, literalName);
  };
}
