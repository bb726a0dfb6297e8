use shoal_core::ExecutorExt;
fn a(exec: &dyn shoal_core::Executor) {
    exec.scope(|s| {
        let local = 5;
        s.spawn(|_| println!("{}", local));
    });
}
fn b(exec: &dyn shoal_core::Executor) {
    let rc = std::rc::Rc::new(1);
    exec.scope(|s| {
        s.spawn(move |_| drop(rc));
    });
}
fn c(exec: &dyn shoal_core::Executor) {
    let _escaped = exec.scope(|s| s.spawn(|_| 1));
}
fn ok(exec: &dyn shoal_core::Executor) {
    let local = 5;
    let arc = std::sync::Arc::new(1);
    let v = exec.scope(|s| { s.spawn(|_| println!("{}", local)); s.spawn(move |_| drop(arc)); s.spawn(|_| 1).join().unwrap() });
    let _ = v;
}
fn d(pool: &shoal_scope::ScopedPool) {
    pool.scope(|s| { let local = 5; s.spawn(|_| println!("{}", local)); });
}
fn e(pool: &shoal_scope::ScopedPool) {
    let rc = std::rc::Rc::new(1);
    pool.scope(|s| s.spawn(move |_| drop(rc)));
}
fn f(pool: &shoal_scope::ScopedPool) {
    let mut escaped: &i32 = &0;
    pool.join(|| { let local = 5; escaped = &local; }, || ());
}
fn g(pool: &shoal_scope::ScopedPool) {
    let rc = std::rc::Rc::new(1);
    pool.join(|| (), move || drop(rc));
}
fn main() {}
