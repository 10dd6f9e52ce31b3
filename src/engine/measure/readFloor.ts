// How fast can one thread read memory here? The floor under a batch-1 decode step, which reads every weight once.
// Used by `npm run bench` (Node) and `npm run bench:peer` (in the page, beside both engines).
/**
 * The physical floor of a decode step: reading `bytes` (the model's float32 weights, each read once per
 * token) as fast as one thread can stream memory — four f32x4 accumulators over the buffer, no arithmetic
 * to wait for. Best of 7 passes.
 *   (module (import "env" "mem" (memory 1 65536 shared))
 *     (func (export "sum") (param $p i32) (param $end i32) (result f32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
 *       (loop $l (local.set $a (f32x4.add (local.get $a) (v128.load offset=0 (local.get $p)))) … offset=16, 32, 48 into $b $c $d
 *         (local.set $p (i32.add (local.get $p) (i32.const 64))) (br_if $l (i32.lt_u (local.get $p) (local.get $end))))
 *       (f32x4.extract_lane 0 (f32x4.add (f32x4.add (local.get $a) (local.get $b)) (f32x4.add (local.get $c) (local.get $d))))))
 * compiled with wabt's wat2wasm (SIMD and threads on).
 */
const STREAM_SUM_WASM = 'AGFzbQEAAAABBwFgAn9/AX0CDwEDZW52A21lbQIDAYCABAMCAQAHBwEDc3VtAAAKYAFeAQR7A0AgAiAA/QAEAP3kASECIAMgAP0ABBD95AEhAyAEIAD9AAQg/eQBIQQgBSAA/QAEMP3kASEFIABBwABqIQAgACABSQ0ACyACIAP95AEgBCAF/eQB/eQB/R8ACw==';

export async function readFloor(bytes: number): Promise<{ bytes: number; ms: number; gbPerSec: number; lane0Sum: number }> {
  const end = Math.floor(bytes / 64) * 64;
  const pages = Math.ceil(end / 65536) + 1;
  const mem = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  new Float32Array(mem.buffer).fill(1); // every page touched before timing
  const code = Uint8Array.from(atob(STREAM_SUM_WASM), (c) => c.charCodeAt(0));
  const { instance } = await WebAssembly.instantiate(code, { env: { mem } });
  const sum = instance.exports.sum as (p: number, end: number) => number;
  let best = Infinity;
  let lane0Sum = 0;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    lane0Sum = sum(0, end);
    best = Math.min(best, performance.now() - t0);
  }
  // lane0Sum (lane 0 of the four accumulators, summed) is end / 16 over a buffer of ones: every byte was read.
  return { bytes: end, ms: best, gbPerSec: end / best / 1e6, lane0Sum };
}
