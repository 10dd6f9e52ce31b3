;; Matrix products with quantized weights, hand-written WebAssembly with 128-bit SIMD.
;;
;; y[t·N + n] = Σ_b d[n,b] · Σ_i q[n,b,i] · x[t·K + 32b + i]    for n < N, t < T, blocks b < K/32
;;
;; The weights stay quantized (llama.cpp's Q8_0 and Q4_0 blocks of 32); only the activations x are
;; float32, so the result is the product of the dequantized weights with x. Layout in memory (quant.ts
;; writes it): a matrix is N rows of K/32 blocks; the scales d are float32 (the fp16 value of the file,
;; exactly), N·K/32 of them; the quants are int8 (Q8_0: 32 bytes a block) or packed nibbles (Q4_0: 16
;; bytes a block, element i in the low nibble of byte i and element i+16 in its high nibble, stored +8).
;;
;; Summation order (float32, four lanes; quant.ts's scalar `matmulScalar` is the same order, bit for bit):
;;   lane l of a block sums the products of elements l, l+4, l+8, l+12 as ((m0 + m1) + m2) + m3 for the
;;   first 16 elements, the same for the last 16, then first + second; the row's lane l accumulates
;;   block_l · d in block order; the result is (lane0 + lane1) + (lane2 + lane3).
;;
;; Loop order: rows outside, the T activation rows inside, so a weight row is read from memory once and
;; then from cache for the other T − 1 rows (a prompt's matrix product reads each weight once).
;;
;; For several activation rows (a prompt), matmul_rows_* convert each block's weights to floats once and use them
;; for every row, with each row's sums in the same order as above (so a prompt's logits equal step-by-step ones).
;;
;; The 16-weight dot product is written out at each use rather than called: V8 does not inline a call
;; between WebAssembly functions, and the calls cost 1.7× the product's time (measured: 0.44 → 0.26 ms for a 3072×768 Q8_0 matrix).
(module
  (import "env" "memory" (memory 1))

  ;; Q8_0: q at $q (N·K bytes), scales at $d (N·K/32 float32), x at $x (T·K float32), y at $y (T·N float32).
  (func (export "matmul_q8_0") (param $q i32) (param $d i32) (param $x i32) (param $y i32) (param $N i32) (param $K i32) (param $T i32)
    (local $n i32) (local $t i32) (local $b i32) (local $B i32) (local $qp i32) (local $dp i32) (local $xp i32)
    (local $acc v128) (local $blk v128) (local $w v128) (local $h v128) (local $s v128)
    (local.set $B (i32.shr_u (local.get $K) (i32.const 5)))
    (block $rows_done (loop $rows
      (br_if $rows_done (i32.ge_u (local.get $n) (local.get $N)))
      (local.set $t (i32.const 0))
      (block $ts_done (loop $ts
        (br_if $ts_done (i32.ge_u (local.get $t) (local.get $T)))
        (local.set $qp (i32.add (local.get $q) (i32.mul (local.get $n) (local.get $K))))
        (local.set $dp (i32.add (local.get $d) (i32.shl (i32.mul (local.get $n) (local.get $B)) (i32.const 2))))
        (local.set $xp (i32.add (local.get $x) (i32.shl (i32.mul (local.get $t) (local.get $K)) (i32.const 2))))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $b (i32.const 0))
        (block $blocks_done (loop $blocks
          (br_if $blocks_done (i32.ge_u (local.get $b) (local.get $B)))
          ;; the first 16 weights of the block
          (local.set $w (v128.load (local.get $qp)))
          (local.set $h (i16x8.extend_low_i8x16_s (local.get $w)))
          (local.set $s (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))) (v128.load (local.get $xp))))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))) (v128.load offset=16 (local.get $xp)))))
          (local.set $h (i16x8.extend_high_i8x16_s (local.get $w)))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))) (v128.load offset=32 (local.get $xp)))))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))) (v128.load offset=48 (local.get $xp)))))
          (local.set $blk (local.get $s))
          ;; the last 16
          (local.set $w (v128.load offset=16 (local.get $qp)))
          (local.set $h (i16x8.extend_low_i8x16_s (local.get $w)))
          (local.set $s (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))) (v128.load offset=64 (local.get $xp))))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))) (v128.load offset=80 (local.get $xp)))))
          (local.set $h (i16x8.extend_high_i8x16_s (local.get $w)))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))) (v128.load offset=96 (local.get $xp)))))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))) (v128.load offset=112 (local.get $xp)))))
          (local.set $blk (f32x4.add (local.get $blk) (local.get $s)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $blk) (v128.load32_splat (local.get $dp)))))
          (local.set $qp (i32.add (local.get $qp) (i32.const 32)))
          (local.set $dp (i32.add (local.get $dp) (i32.const 4)))
          (local.set $xp (i32.add (local.get $xp) (i32.const 128)))
          (local.set $b (i32.add (local.get $b) (i32.const 1)))
          (br $blocks)))
        (f32.store
          (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $t) (local.get $N)) (local.get $n)) (i32.const 2)))
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
            (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $ts)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $rows))))

  ;; Q4_0: q at $q (N·K/2 bytes of nibbles), otherwise as matmul_q8_0.
  (func (export "matmul_q4_0") (param $q i32) (param $d i32) (param $x i32) (param $y i32) (param $N i32) (param $K i32) (param $T i32)
    (local $n i32) (local $t i32) (local $b i32) (local $B i32) (local $qp i32) (local $dp i32) (local $xp i32)
    (local $acc v128) (local $blk v128) (local $w v128) (local $h v128) (local $s v128)
    (local.set $B (i32.shr_u (local.get $K) (i32.const 5)))
    (block $rows_done (loop $rows
      (br_if $rows_done (i32.ge_u (local.get $n) (local.get $N)))
      (local.set $t (i32.const 0))
      (block $ts_done (loop $ts
        (br_if $ts_done (i32.ge_u (local.get $t) (local.get $T)))
        (local.set $qp (i32.add (local.get $q) (i32.shr_u (i32.mul (local.get $n) (local.get $K)) (i32.const 1))))
        (local.set $dp (i32.add (local.get $d) (i32.shl (i32.mul (local.get $n) (local.get $B)) (i32.const 2))))
        (local.set $xp (i32.add (local.get $x) (i32.shl (i32.mul (local.get $t) (local.get $K)) (i32.const 2))))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $b (i32.const 0))
        (block $blocks_done (loop $blocks
          (br_if $blocks_done (i32.ge_u (local.get $b) (local.get $B)))
          ;; the first 16 weights of the block
          ;; low nibbles are elements 0..15, high nibbles 16..31; both stored +8
          (local.set $w (i8x16.sub (v128.and (v128.load (local.get $qp)) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)) (v128.const i8x16 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8)))
          (local.set $h (i16x8.extend_low_i8x16_s (local.get $w)))
          (local.set $s (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))) (v128.load (local.get $xp))))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))) (v128.load offset=16 (local.get $xp)))))
          (local.set $h (i16x8.extend_high_i8x16_s (local.get $w)))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))) (v128.load offset=32 (local.get $xp)))))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))) (v128.load offset=48 (local.get $xp)))))
          (local.set $blk (local.get $s))
          ;; the last 16
          (local.set $w (i8x16.sub (i8x16.shr_u (v128.load (local.get $qp)) (i32.const 4)) (v128.const i8x16 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8)))
          (local.set $h (i16x8.extend_low_i8x16_s (local.get $w)))
          (local.set $s (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))) (v128.load offset=64 (local.get $xp))))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))) (v128.load offset=80 (local.get $xp)))))
          (local.set $h (i16x8.extend_high_i8x16_s (local.get $w)))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))) (v128.load offset=96 (local.get $xp)))))
          (local.set $s (f32x4.add (local.get $s) (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))) (v128.load offset=112 (local.get $xp)))))
          (local.set $blk (f32x4.add (local.get $blk) (local.get $s)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $blk) (v128.load32_splat (local.get $dp)))))
          (local.set $qp (i32.add (local.get $qp) (i32.const 16)))
          (local.set $dp (i32.add (local.get $dp) (i32.const 4)))
          (local.set $xp (i32.add (local.get $xp) (i32.const 128)))
          (local.set $b (i32.add (local.get $b) (i32.const 1)))
          (br $blocks)))
        (f32.store
          (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $t) (local.get $N)) (local.get $n)) (i32.const 2)))
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
            (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $ts)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $rows))))
  ;; Several activation rows (a prompt): each block's weights converted to floats once, then used for every row, with
  ;; each row's sums in exactly matmul_q8_0's order (its four-lane accumulators at $accs, T·16 bytes).
  (func (export "matmul_rows_q8_0") (param $q i32) (param $d i32) (param $x i32) (param $y i32) (param $N i32) (param $K i32) (param $T i32) (param $accs i32)
    (local $n i32) (local $t i32) (local $b i32) (local $B i32) (local $qp i32) (local $dp i32) (local $xp i32) (local $ap i32)
    (local $blk v128) (local $w v128) (local $h v128) (local $s v128) (local $scale v128)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128) (local $w4 v128) (local $w5 v128) (local $w6 v128) (local $w7 v128)
    (local.set $B (i32.shr_u (local.get $K) (i32.const 5)))
    (block $rows_done (loop $rows
      (br_if $rows_done (i32.ge_u (local.get $n) (local.get $N)))
      ;; the T accumulators (four lanes each) start at zero
      (local.set $t (i32.const 0))
      (block $zero_done (loop $zero
        (br_if $zero_done (i32.ge_u (local.get $t) (local.get $T)))
        (v128.store (i32.add (local.get $accs) (i32.shl (local.get $t) (i32.const 4))) (v128.const f32x4 0 0 0 0))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $zero)))
      (local.set $qp (i32.add (local.get $q) (i32.mul (local.get $n) (local.get $K))))
      (local.set $dp (i32.add (local.get $d) (i32.shl (i32.mul (local.get $n) (local.get $B)) (i32.const 2))))
      (local.set $b (i32.const 0))
      (block $blocks_done (loop $blocks
        (br_if $blocks_done (i32.ge_u (local.get $b) (local.get $B)))
        ;; the block's 32 weights as floats, once for all T rows
        (local.set $w (v128.load (local.get $qp)))
            (local.set $h (i16x8.extend_low_i8x16_s (local.get $w)))
            (local.set $w0 (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))))
            (local.set $w1 (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))))
            (local.set $h (i16x8.extend_high_i8x16_s (local.get $w)))
            (local.set $w2 (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))))
            (local.set $w3 (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))))
        (local.set $w (v128.load offset=16 (local.get $qp)))
            (local.set $h (i16x8.extend_low_i8x16_s (local.get $w)))
            (local.set $w4 (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))))
            (local.set $w5 (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))))
            (local.set $h (i16x8.extend_high_i8x16_s (local.get $w)))
            (local.set $w6 (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))))
            (local.set $w7 (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))))
        (local.set $scale (v128.load32_splat (local.get $dp)))
        (local.set $xp (i32.add (local.get $x) (i32.shl (local.get $b) (i32.const 7))))
        (local.set $ap (local.get $accs))
        (local.set $t (i32.const 0))
        (block $ts_done (loop $ts
          (br_if $ts_done (i32.ge_u (local.get $t) (local.get $T)))
              (local.set $s (f32x4.mul (local.get $w0) (v128.load (local.get $xp))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w1) (v128.load offset=16 (local.get $xp)))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w2) (v128.load offset=32 (local.get $xp)))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w3) (v128.load offset=48 (local.get $xp)))))
              (local.set $blk (local.get $s))
              (local.set $s (f32x4.mul (local.get $w4) (v128.load offset=64 (local.get $xp))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w5) (v128.load offset=80 (local.get $xp)))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w6) (v128.load offset=96 (local.get $xp)))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w7) (v128.load offset=112 (local.get $xp)))))
              (local.set $blk (f32x4.add (local.get $blk) (local.get $s)))
          (v128.store (local.get $ap) (f32x4.add (v128.load (local.get $ap)) (f32x4.mul (local.get $blk) (local.get $scale))))
          (local.set $xp (i32.add (local.get $xp) (i32.shl (local.get $K) (i32.const 2))))
          (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br $ts)))
        (local.set $qp (i32.add (local.get $qp) (i32.const 32)))
        (local.set $dp (i32.add (local.get $dp) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $blocks)))
      (local.set $t (i32.const 0))
      (block $out_done (loop $out
        (br_if $out_done (i32.ge_u (local.get $t) (local.get $T)))
        (local.set $s (v128.load (i32.add (local.get $accs) (i32.shl (local.get $t) (i32.const 4)))))
        (f32.store
          (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $t) (local.get $N)) (local.get $n)) (i32.const 2)))
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s)))
            (f32.add (f32x4.extract_lane 2 (local.get $s)) (f32x4.extract_lane 3 (local.get $s)))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $out)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $rows))))

  ;; The same for Q4_0.
  (func (export "matmul_rows_q4_0") (param $q i32) (param $d i32) (param $x i32) (param $y i32) (param $N i32) (param $K i32) (param $T i32) (param $accs i32)
    (local $n i32) (local $t i32) (local $b i32) (local $B i32) (local $qp i32) (local $dp i32) (local $xp i32) (local $ap i32)
    (local $blk v128) (local $w v128) (local $h v128) (local $s v128) (local $scale v128)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128) (local $w4 v128) (local $w5 v128) (local $w6 v128) (local $w7 v128)
    (local.set $B (i32.shr_u (local.get $K) (i32.const 5)))
    (block $rows_done (loop $rows
      (br_if $rows_done (i32.ge_u (local.get $n) (local.get $N)))
      ;; the T accumulators (four lanes each) start at zero
      (local.set $t (i32.const 0))
      (block $zero_done (loop $zero
        (br_if $zero_done (i32.ge_u (local.get $t) (local.get $T)))
        (v128.store (i32.add (local.get $accs) (i32.shl (local.get $t) (i32.const 4))) (v128.const f32x4 0 0 0 0))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $zero)))
      (local.set $qp (i32.add (local.get $q) (i32.shr_u (i32.mul (local.get $n) (local.get $K)) (i32.const 1))))
      (local.set $dp (i32.add (local.get $d) (i32.shl (i32.mul (local.get $n) (local.get $B)) (i32.const 2))))
      (local.set $b (i32.const 0))
      (block $blocks_done (loop $blocks
        (br_if $blocks_done (i32.ge_u (local.get $b) (local.get $B)))
        ;; the block's 32 weights as floats, once for all T rows
        (local.set $w (i8x16.sub (v128.and (v128.load (local.get $qp)) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)) (v128.const i8x16 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8)))
            (local.set $h (i16x8.extend_low_i8x16_s (local.get $w)))
            (local.set $w0 (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))))
            (local.set $w1 (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))))
            (local.set $h (i16x8.extend_high_i8x16_s (local.get $w)))
            (local.set $w2 (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))))
            (local.set $w3 (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))))
        (local.set $w (i8x16.sub (i8x16.shr_u (v128.load (local.get $qp)) (i32.const 4)) (v128.const i8x16 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8 8)))
            (local.set $h (i16x8.extend_low_i8x16_s (local.get $w)))
            (local.set $w4 (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))))
            (local.set $w5 (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))))
            (local.set $h (i16x8.extend_high_i8x16_s (local.get $w)))
            (local.set $w6 (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $h))))
            (local.set $w7 (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $h))))
        (local.set $scale (v128.load32_splat (local.get $dp)))
        (local.set $xp (i32.add (local.get $x) (i32.shl (local.get $b) (i32.const 7))))
        (local.set $ap (local.get $accs))
        (local.set $t (i32.const 0))
        (block $ts_done (loop $ts
          (br_if $ts_done (i32.ge_u (local.get $t) (local.get $T)))
              (local.set $s (f32x4.mul (local.get $w0) (v128.load (local.get $xp))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w1) (v128.load offset=16 (local.get $xp)))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w2) (v128.load offset=32 (local.get $xp)))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w3) (v128.load offset=48 (local.get $xp)))))
              (local.set $blk (local.get $s))
              (local.set $s (f32x4.mul (local.get $w4) (v128.load offset=64 (local.get $xp))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w5) (v128.load offset=80 (local.get $xp)))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w6) (v128.load offset=96 (local.get $xp)))))
              (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $w7) (v128.load offset=112 (local.get $xp)))))
              (local.set $blk (f32x4.add (local.get $blk) (local.get $s)))
          (v128.store (local.get $ap) (f32x4.add (v128.load (local.get $ap)) (f32x4.mul (local.get $blk) (local.get $scale))))
          (local.set $xp (i32.add (local.get $xp) (i32.shl (local.get $K) (i32.const 2))))
          (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br $ts)))
        (local.set $qp (i32.add (local.get $qp) (i32.const 16)))
        (local.set $dp (i32.add (local.get $dp) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $blocks)))
      (local.set $t (i32.const 0))
      (block $out_done (loop $out
        (br_if $out_done (i32.ge_u (local.get $t) (local.get $T)))
        (local.set $s (v128.load (i32.add (local.get $accs) (i32.shl (local.get $t) (i32.const 4)))))
        (f32.store
          (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (local.get $t) (local.get $N)) (local.get $n)) (i32.const 2)))
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s)))
            (f32.add (f32x4.extract_lane 2 (local.get $s)) (f32x4.extract_lane 3 (local.get $s)))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $out)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $rows)))))
