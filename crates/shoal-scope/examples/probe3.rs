use std::time::Instant;
use shoal_scope::{ScopedPool, Executor};
struct Node { value: u64, left: Option<Box<Node>>, right: Option<Box<Node>> }
fn build(depth: u32, next: &mut u64) -> Option<Box<Node>> {
    if depth == 0 { return None; }
    let left = build(depth - 1, next); *next += 1; let value = *next; let right = build(depth - 1, next);
    Some(Box::new(Node { value, left, right }))
}
fn sum_seq(node: &Option<Box<Node>>) -> u64 { match node { None => 0, Some(n) => n.value + sum_seq(&n.left) + sum_seq(&n.right) } }
fn sum(node: &Option<Box<Node>>) -> u64 { match node { None => 0, Some(n) => { let (l, r) = shoal_scope::join(|| sum(&n.left), || sum(&n.right)); n.value + l + r } } }
fn sum_rayon(node: &Option<Box<Node>>) -> u64 { match node { None => 0, Some(n) => { let (l, r) = rayon::join(|| sum_rayon(&n.left), || sum_rayon(&n.right)); n.value + l + r } } }
fn main() {
    let mut next = 0; let root = build(20, &mut next);
    let rp = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    for w in [1, 2] {
        let pool = ScopedPool::new(w).unwrap();
        for _ in 0..4 {
            let t = Instant::now(); let r0 = sum_seq(&root); let seq = t.elapsed();
            let m0 = pool.metrics();
            let t = Instant::now(); let r = pool.install(|| sum(&root)); let el = t.elapsed();
            let m1 = pool.metrics();
            let t = Instant::now(); let r2 = rp.install(|| sum_rayon(&root)); let ra = t.elapsed();
            assert_eq!(r, r0); assert_eq!(r2, r0);
            println!("workers {w}: seq {:?} scoped {:?} rayon2 {:?} steals {} parks {}", seq, el, ra, m1.steals - m0.steals, m1.parks - m0.parks);
        }
    }
}
