/**
 * The partition of an event: a hash of `token:distinct_id`, as capture keys Kafka messages, so that one person's
 * events stay in one partition, in order.
 *
 * @example
 * partitionOf("phc_x", "user-1", 4) // 0..3, the same every time
 */
export function partitionOf(token: string, distinctId: string, partitions: number): number {
  if (partitions <= 1) return 0;
  // FNV-1a over the UTF-16 code units: stable across processes and versions.
  let h = 0x811c9dc5;
  const key = `${token}:${distinctId}`;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
