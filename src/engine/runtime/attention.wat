;; Attention's two inner loops, hand-written WebAssembly with 128-bit SIMD, run in place on TF.js's own
;; WASM heap (the module imports that memory, so the KV cache is read where it lies): the scores of one
;; query against a head's cached keys, and the weighted sum of its cached values. The softmax between them
;; (n exponentials) stays in JavaScript, which has Math.exp. Addresses are in bytes; hd is a multiple of 4.
;;
;; Summation order (float32): lane l sums the products of elements l, l+4, l+8, … in order; a score is
;; (lane0 + lane1) + (lane2 + lane3), times the scale.
(module
  (import "env" "memory" (memory 1 65536))

  ;; s[j] = scale · Σ_i q[i]·k[j·hd + i]   for j < n
  (func (export "scores") (param $q i32) (param $k i32) (param $s i32) (param $n i32) (param $hd i32) (param $scale f32)
    (local $j i32) (local $i i32) (local $kp i32) (local $acc v128)
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $acc (v128.const f32x4 0 0 0 0))
      (local.set $kp (i32.add (local.get $k) (i32.shl (i32.mul (local.get $j) (local.get $hd)) (i32.const 2))))
      (local.set $i (i32.const 0))
      (block $cols_done (loop $cols
        (br_if $cols_done (i32.ge_u (local.get $i) (local.get $hd)))
        (local.set $acc (f32x4.add (local.get $acc)
          (f32x4.mul (v128.load (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2))))
                     (v128.load (i32.add (local.get $kp) (i32.shl (local.get $i) (i32.const 2)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $cols)))
      (f32.store (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2)))
        (f32.mul (local.get $scale)
          (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                   (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc))))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $rows))))

  ;; o[i] = Σ_j w[j]·v[j·hd + i]   for i < hd (each o[i] summed in order of j)
  (func (export "weighted") (param $w i32) (param $v i32) (param $o i32) (param $n i32) (param $hd i32)
    (local $j i32) (local $i i32) (local $vp i32) (local $op i32) (local $wj v128)
    (block $zero_done (loop $zero
      (br_if $zero_done (i32.ge_u (local.get $i) (local.get $hd)))
      (v128.store (i32.add (local.get $o) (i32.shl (local.get $i) (i32.const 2))) (v128.const f32x4 0 0 0 0))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $zero)))
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $wj (f32x4.splat (f32.load (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2))))))
      (local.set $vp (i32.add (local.get $v) (i32.shl (i32.mul (local.get $j) (local.get $hd)) (i32.const 2))))
      (local.set $i (i32.const 0))
      (block $cols_done (loop $cols
        (br_if $cols_done (i32.ge_u (local.get $i) (local.get $hd)))
        (local.set $op (i32.add (local.get $o) (i32.shl (local.get $i) (i32.const 2))))
        (v128.store (local.get $op)
          (f32x4.add (v128.load (local.get $op))
                     (f32x4.mul (local.get $wj) (v128.load (i32.add (local.get $vp) (i32.shl (local.get $i) (i32.const 2)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $cols)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $rows))))
)
