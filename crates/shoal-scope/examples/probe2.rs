use std::hint::black_box;
use std::time::Instant;
use shoal_scope::ScopedPool;
fn main() {
    let pool = ScopedPool::new(1).unwrap();
    let n = 10_000_000u64;
    for _ in 0..3 {
        let t = Instant::now();
        let mut s = 0u64;
        for i in 0..n { s += black_box(i) + black_box(i); }
        let base = t.elapsed();
        let t = Instant::now();
        let s2 = pool.install(|| { let mut s = 0u64; for i in 0..n { let (a, b) = shoal_scope::join(|| black_box(i), || black_box(i)); s += a + b; } s });
        let j = t.elapsed();
        let rp = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let t = Instant::now();
        let s3 = rp.install(|| { let mut s = 0u64; for i in 0..n { let (a, b) = rayon::join(|| black_box(i), || black_box(i)); s += a + b; } s });
        let r = t.elapsed();
        assert_eq!(s, s2); assert_eq!(s, s3);
        println!("base {:.2} ns/iter, scoped join {:.2} ns/iter, rayon join {:.2} ns/iter", base.as_nanos() as f64 / n as f64, j.as_nanos() as f64 / n as f64, r.as_nanos() as f64 / n as f64);
    }
}
