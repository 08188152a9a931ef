/** OpenPGP packet tags (RFC 4880 §4.3) of the messages MessageWriter writes and MessageReader reads. */
export const PUBLIC_KEY_ENCRYPTED_SESSION_KEY = 1;
export const LITERAL_DATA = 11;
export const SYM_ENCRYPTED_INTEGRITY_PROTECTED_DATA = 18;
export const MODIFICATION_DETECTION_CODE = 19;

/** The version byte that opens a SEIPD v1 packet's body (RFC 4880 §5.13). */
export const SEIPD_VERSION = 1;
/** AES's block size: the CFB prefix is one block of random bytes plus its last two repeated. */
export const AES_BLOCK = 16;
/** The MDC packet's body: a SHA-1 digest. */
export const MDC_LENGTH = 20;
/** The MDC packet's header (new format, tag 19, a 20-byte body), which the digest covers too. */
export const MDC_HEADER = Buffer.from([0xc0 | MODIFICATION_DETECTION_CODE, MDC_LENGTH]);
