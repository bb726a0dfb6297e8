//! Fork-join with no cutoff, where every call forks and the cost of `join` itself dominates
//! (`fib`, `tree-sum`); and a loop of coarse joins, where what counts is how fast each half
//! finds a thread and the owner learns that the other half ended (`join-loop`).

use std::sync::Arc;

use crate::contender::{Contender, ForkJoin};
use crate::workload::{Answer, Size, Workload, WorkloadId};
use crate::workloads::burn;

/// Join overhead: recursive Fibonacci, `join(fib(n-1), fib(n-2))` at every level down to
/// `n < 2`. Sequential code does the same calls without `join`, so `sequential / pool` is
/// what join costs per call.
#[derive(Debug)]
pub struct Fib {
    n: u32,
}

/// How many calls `fib(n)` makes: `2·fib(n+1) − 1`.
pub fn fib_calls(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..=n {
        (a, b) = (b, a + b);
    }
    2 * a - 1
}

fn fib_value(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

fn fib<J: ForkJoin>(j: &J, n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = j.join(|| fib(j, n - 1), || fib(j, n - 2));
    a + b
}

impl Workload for Fib {
    const ID: WorkloadId = WorkloadId::Fib;

    fn prepare(size: Size, _workers: usize) -> Self {
        // fib's work grows by φ per step of n: scale 1 is fib(30), 0.25 fib(27), 0.01 fib(20).
        let phi = (1.0 + 5f64.sqrt()) / 2.0;
        let n = 30.0 + size.scale.ln() / phi.ln();
        Fib {
            n: n.round().clamp(10.0, 40.0) as u32,
        }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let j = c.fork_join().expect("admitted contenders can join");
        let n = self.n;
        j.install(|| fib(j, n))
    }

    fn answer(&self) -> Answer {
        Answer {
            checksum: fib_value(self.n),
            units: fib_calls(self.n) as f64,
        }
    }

    fn describe(&self) -> String {
        format!(
            "fib({}) with no cutoff, {} calls",
            self.n,
            fib_calls(self.n)
        )
    }
}

/// A node of a complete binary tree, children boxed as a pointer-chasing tree would be.
#[derive(Debug)]
pub struct Node {
    value: u64,
    children: Option<Box<(Node, Node)>>,
}

impl Node {
    /// A complete tree of `depth` levels (`2^depth − 1` nodes) numbered in pre-order from
    /// `*next`.
    pub fn build(depth: u32, next: &mut u64) -> Node {
        let value = *next;
        *next += 1;
        let children = (depth > 1).then(|| {
            let left = Node::build(depth - 1, next);
            let right = Node::build(depth - 1, next);
            Box::new((left, right))
        });
        Node { value, children }
    }

    fn sum<J: ForkJoin>(&self, j: &J) -> u64 {
        match &self.children {
            None => self.value,
            Some(children) => {
                let (l, r) = j.join(|| children.0.sum(j), || children.1.sum(j));
                self.value + l + r
            }
        }
    }
}

/// Join over borrowed data: sum a complete binary tree of boxed nodes, forking at every node.
/// The closures borrow the tree, which only a scoped `join` allows.
#[derive(Debug)]
pub struct TreeSum {
    depth: u32,
    root: Arc<Node>,
}

impl TreeSum {
    fn nodes(&self) -> u64 {
        (1u64 << self.depth) - 1
    }
}

impl Workload for TreeSum {
    const ID: WorkloadId = WorkloadId::TreeSum;

    fn prepare(size: Size, _workers: usize) -> Self {
        // Scale 1 is 2^20 − 1 nodes.
        let depth = (20.0 + size.scale.log2()).round().clamp(6.0, 26.0) as u32;
        let root = Arc::new(Node::build(depth, &mut 0));
        TreeSum { depth, root }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let j = c.fork_join().expect("admitted contenders can join");
        let root = &*self.root;
        j.install(|| root.sum(j))
    }

    fn answer(&self) -> Answer {
        // Nodes are numbered 0 to n - 1.
        let n = self.nodes();
        Answer {
            checksum: n * (n - 1) / 2,
            units: n as f64,
        }
    }

    fn describe(&self) -> String {
        format!(
            "binary tree of {} nodes (depth {})",
            self.nodes(),
            self.depth
        )
    }
}

/// Rounds of [`burn`] in one half of a `join-loop` join: about 50 us.
const HALF_ITERS: u32 = 25_000;

/// A loop of coarse joins, one after another: `join(burn(4i + 1), burn(4i + 3))` for `i` in
/// `0..joins`, each half about 50 us. Every join offers its second half to the other worker,
/// which takes it at once only if it is still looking for work; the owner then waits for the
/// thief, whose half ends about when its own does. So a pool pays, per join, its hand-off
/// and the time it takes the waiting owner to learn that the other half ended: a wait that
/// sleeps pays a wake-up each time. The ideal time is half the sequential one.
#[derive(Debug)]
pub struct JoinLoop {
    joins: u64,
    checksum: u64,
}

/// The seed of half `half` (0 or 1) of join `i`: odd and distinct for every half ([`burn`]
/// makes its seed odd).
fn seed(i: u64, half: u64) -> u64 {
    i << 2 | half << 1 | 1
}

/// Adds join `(a, b)`'s values to the running `sum`: position-dependent, so a half run twice,
/// for the wrong index or in the other's place shows.
fn mix(sum: u64, a: u64, b: u64) -> u64 {
    sum.wrapping_mul(31).wrapping_add(a ^ b.rotate_left(1))
}

fn join_loop<J: ForkJoin>(j: &J, joins: u64) -> u64 {
    (0..joins).fold(0, |sum, i| {
        let (a, b) = j.join(
            || burn(seed(i, 0), HALF_ITERS),
            || burn(seed(i, 1), HALF_ITERS),
        );
        mix(sum, a, b)
    })
}

impl Workload for JoinLoop {
    const ID: WorkloadId = WorkloadId::JoinLoop;

    fn prepare(size: Size, _workers: usize) -> Self {
        // Scale 1 is 1,000 joins: about 100 ms of work, 50 ms on two workers.
        let joins = size.count(1000, 10) as u64;
        JoinLoop {
            joins,
            checksum: join_loop(&crate::contenders::Sequential, joins),
        }
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let j = c.fork_join().expect("admitted contenders can join");
        let joins = self.joins;
        j.install(|| join_loop(j, joins))
    }

    fn answer(&self) -> Answer {
        Answer {
            checksum: self.checksum,
            units: self.joins as f64,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} joins one after another, each of two halves of about 50 us",
            self.joins
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_counts() {
        assert_eq!(fib_value(10), 55);
        // fib(2) calls fib(1) and fib(0): 3 calls.
        assert_eq!(fib_calls(2), 3);
        assert_eq!(fib_calls(30), 2_692_537);
    }

    #[test]
    fn join_loop_checksum_depends_on_every_half() {
        let seq = &crate::contenders::Sequential;
        let full = join_loop(seq, 4);
        assert_ne!(full, join_loop(seq, 3));
        // The same halves swapped give another sum.
        let swapped = (0..4).fold(0, |sum, i| {
            mix(
                sum,
                burn(seed(i, 1), HALF_ITERS),
                burn(seed(i, 0), HALF_ITERS),
            )
        });
        assert_ne!(full, swapped);
    }

    #[test]
    fn tree_numbers_every_node_once() {
        let root = Node::build(5, &mut 0);
        assert_eq!(root.sum(&crate::contenders::Sequential), 31 * 30 / 2);
    }
}
