/**
 * Heap growth for a data plane. Node gives every socket read (plain, TLS, HTTP/2) a new
 * ArrayBuffer of up to 64 KiB, and V8 scavenges whenever those add up to twice the largest
 * semi-space. The agent's own heap is small (about 12 MiB), and with V8's dynamic growing
 * factor the old generation's limit can end up closer above it than the size of the new space.
 * V8 then starts incremental marking after every scavenge: a full mark-compact every 100 ms or
 * so under load. A process falls into that mode by chance and stays in it; there, the read
 * buffers are never reused while still in the cache, and a same-host relay costs 2 to 3 times
 * the CPU per MB (measured with the capture benchmark, which prints the major GCs per agent).
 * A fixed growing factor of 4, the largest V8 chooses by itself, keeps the limit far enough
 * above the live heap; 3 was not enough. It is process-wide, so only the agent's command sets
 * it. V8 reads it when it next computes the limit, so setting it after start works.
 */
import v8 from 'node:v8'

const HEAP_GROWING_PERCENT = 300

export function tuneHeapForDataPlane(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
}
