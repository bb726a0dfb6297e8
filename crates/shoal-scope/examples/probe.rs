use std::time::Instant;
use shoal_scope::{ScopedPool, Executor};
fn fib_seq(n: u32) -> u64 { if n < 2 { return n as u64 } fib_seq(n-1) + fib_seq(n-2) }
fn fib(n: u32) -> u64 { if n < 2 { return n as u64 } let (a,b) = shoal_scope::join(|| fib(n-1), || fib(n-2)); a+b }
fn main() {
    let t = Instant::now(); let r = fib_seq(30); println!("seq {:?} {r}", t.elapsed());
    for w in [1, 2] {
        let pool = ScopedPool::new(w).unwrap();
        for _ in 0..3 {
            let m0 = pool.metrics();
            let t = Instant::now(); let r = pool.install(|| fib(30)); let el = t.elapsed();
            let m1 = pool.metrics();
            println!("workers {w}: {:?} {r} steals {} parks {}", el, m1.steals - m0.steals, m1.parks - m0.parks);
        }
    }
}
