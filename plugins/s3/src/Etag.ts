/** An ETag without its quotes (quoted in some answers and not in others) or weak marker. */
export function normaliseEtag(etag: string): string {
  return etag.replace(/^(W\/)?"|"$/g, '');
}
