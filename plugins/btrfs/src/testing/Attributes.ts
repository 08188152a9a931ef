/** A POSIX access ACL (user::rw-, user:1000:r--, group::r--, mask::r--, other::r--) as the raw `system.posix_acl_access` value. */
export const ACL = Buffer.alloc(4 + 5 * 8);
ACL.writeUInt32LE(2, 0);
[
  [1, 6, 0xffffffff],
  [2, 4, 1000],
  [4, 4, 0xffffffff],
  [0x10, 4, 0xffffffff],
  [0x20, 4, 0xffffffff],
].forEach(([tag, perm, id], i) => {
  ACL.writeUInt16LE(tag!, 4 + i * 8);
  ACL.writeUInt16LE(perm!, 6 + i * 8);
  ACL.writeUInt32LE(id!, 8 + i * 8);
});

/** A `security.capability` value (v2) granting CAP_NET_BIND_SERVICE. */
export const CAPABILITY = Buffer.alloc(20);
CAPABILITY.writeUInt32LE(0x02000001, 0);
CAPABILITY.writeUInt32LE(1 << 10, 4);
