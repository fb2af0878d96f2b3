;; The coordinator's hot loops as WebAssembly SIMD (f32x4): V8 does not vectorise JavaScript, and these loops are on
;; every round's critical path. simd.mjs stages blocks of the caller's arrays into this module's memory and back.
;; Rebuild simd-wasm.mjs after an edit: npm run build:wasm (a test checks that it matches this file).
;; Pointers are byte offsets, 16-byte aligned; counts are in floats and a multiple of 4.
(module
  (memory (export "memory") 4)

  ;; acc[i] = w * x[i]
  (func (export "scale") (param $acc i32) (param $x i32) (param $w f32) (param $n i32)
    (local $end i32) (local $wv v128)
    (local.set $wv (f32x4.splat (local.get $w)))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (v128.store (local.get $acc) (f32x4.mul (local.get $wv) (v128.load (local.get $x))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 16)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $next))))

  ;; acc[i] += w * x[i]
  (func (export "axpy") (param $acc i32) (param $x i32) (param $w f32) (param $n i32)
    (local $end i32) (local $wv v128)
    (local.set $wv (f32x4.splat (local.get $w)))
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (v128.store (local.get $acc)
          (f32x4.add (v128.load (local.get $acc)) (f32x4.mul (local.get $wv) (v128.load (local.get $x)))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 16)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $next))))

  ;; The sum of x[i] * y[i], each product promoted to f64 and summed in two f64x2 lanes, returned as f64.
  (func (export "dot") (param $x i32) (param $y i32) (param $n i32) (result f64)
    (local $end i32) (local $p v128) (local $sumLo v128) (local $sumHi v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $p (f32x4.mul (v128.load (local.get $x)) (v128.load (local.get $y))))
        (local.set $sumLo (f64x2.add (local.get $sumLo) (f64x2.promote_low_f32x4 (local.get $p))))
        (local.set $sumHi (f64x2.add (local.get $sumHi)
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $p) (local.get $p)))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $next)))
    (local.set $sumLo (f64x2.add (local.get $sumLo) (local.get $sumHi)))
    (f64.add (f64x2.extract_lane 0 (local.get $sumLo)) (f64x2.extract_lane 1 (local.get $sumLo))))

  ;; One Adam(W) step on blocks p, g, m, v of n floats each, laid out one after another from $p:
  ;; gi = g + l2 p; m = b1 m + (1 - b1) gi; v = b2 v + (1 - b2) gi^2; p = keep p - mScale m / (sqrt(vScale v) + eps)
  (func (export "adam") (param $p i32) (param $n i32) (param $b1 f32) (param $b2 f32) (param $mScale f32) (param $vScale f32)
    (param $eps f32) (param $keep f32) (param $l2 f32)
    (local $bytes i32) (local $g i32) (local $m i32) (local $v i32) (local $end i32)
    (local $gi v128) (local $mi v128) (local $vi v128)
    (local $b1v v128) (local $c1v v128) (local $b2v v128) (local $c2v v128) (local $msv v128) (local $vsv v128)
    (local $epsv v128) (local $keepv v128) (local $l2v v128)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (local.set $g (i32.add (local.get $p) (local.get $bytes)))
    (local.set $m (i32.add (local.get $g) (local.get $bytes)))
    (local.set $v (i32.add (local.get $m) (local.get $bytes)))
    (local.set $end (local.get $g))
    (local.set $b1v (f32x4.splat (local.get $b1)))
    (local.set $c1v (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))))
    (local.set $b2v (f32x4.splat (local.get $b2)))
    (local.set $c2v (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))))
    (local.set $msv (f32x4.splat (local.get $mScale)))
    (local.set $vsv (f32x4.splat (local.get $vScale)))
    (local.set $epsv (f32x4.splat (local.get $eps)))
    (local.set $keepv (f32x4.splat (local.get $keep)))
    (local.set $l2v (f32x4.splat (local.get $l2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $gi (f32x4.add (v128.load (local.get $g)) (f32x4.mul (local.get $l2v) (v128.load (local.get $p)))))
        (local.set $mi (f32x4.add (f32x4.mul (local.get $b1v) (v128.load (local.get $m))) (f32x4.mul (local.get $c1v) (local.get $gi))))
        (local.set $vi (f32x4.add (f32x4.mul (local.get $b2v) (v128.load (local.get $v)))
                                  (f32x4.mul (local.get $c2v) (f32x4.mul (local.get $gi) (local.get $gi)))))
        (v128.store (local.get $m) (local.get $mi))
        (v128.store (local.get $v) (local.get $vi))
        (v128.store (local.get $p)
          (f32x4.sub (f32x4.mul (local.get $keepv) (v128.load (local.get $p)))
            (f32x4.div (f32x4.mul (local.get $msv) (local.get $mi))
              (f32x4.add (f32x4.sqrt (f32x4.mul (local.get $vsv) (local.get $vi))) (local.get $epsv)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $m (i32.add (local.get $m) (i32.const 16)))
        (local.set $v (i32.add (local.get $v) (i32.const 16)))
        (br $next))))

  ;; The largest magnitude (NaN when any element is NaN) as f32 at $out, the sum of squares in f64 at $out + 8, and a
  ;; fingerprint of the bits in four i32 lanes at $out + 16 (read as the state to go on from, written back): one pass
  ;; for a result's finiteness, bound and norm checks and its replay check.
  (func (export "stats") (param $x i32) (param $n i32) (param $out i32)
    (local $end i32) (local $a v128) (local $max v128) (local $lo v128) (local $hi v128) (local $sumLo v128) (local $sumHi v128)
    (local $h v128) (local $mul v128)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $h (v128.load offset=16 (local.get $out)))
    (local.set $mul (i32x4.splat (i32.const 0x9e3779b1)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $a (v128.load (local.get $x)))
        (local.set $max (f32x4.max (local.get $max) (f32x4.abs (local.get $a))))
        (local.set $lo (f64x2.promote_low_f32x4 (local.get $a)))
        (local.set $hi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a) (local.get $a))))
        (local.set $sumLo (f64x2.add (local.get $sumLo) (f64x2.mul (local.get $lo) (local.get $lo))))
        (local.set $sumHi (f64x2.add (local.get $sumHi) (f64x2.mul (local.get $hi) (local.get $hi))))
        ;; h = (h ^ bits) * golden; h ^= h >> 15: each lane a sequential multiply-xorshift over every fourth word
        (local.set $h (i32x4.mul (v128.xor (local.get $h) (local.get $a)) (local.get $mul)))
        (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $next)))
    (f32.store (local.get $out)
      (f32.max (f32.max (f32x4.extract_lane 0 (local.get $max)) (f32x4.extract_lane 1 (local.get $max)))
               (f32.max (f32x4.extract_lane 2 (local.get $max)) (f32x4.extract_lane 3 (local.get $max)))))
    (local.set $sumLo (f64x2.add (local.get $sumLo) (local.get $sumHi)))
    (f64.store offset=8 (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $sumLo)) (f64x2.extract_lane 1 (local.get $sumLo))))
    (v128.store offset=16 (local.get $out) (local.get $h)))
)
