//! Expected panics: the campaign panics on purpose by the hundred thousand, so the default
//! hook's message for each would drown the output. Jobs panic with a message that carries
//! [`EXPECTED`]; [`quiet_expected_panics`] installs a hook that drops those and passes every
//! other panic (a failing assertion) to the default hook.

use std::any::Any;
use std::panic;
use std::sync::Once;

/// The marker in every panic the campaign causes on purpose.
pub const EXPECTED: &str = "[shoal-reliability: expected panic]";

/// A thread whose name contains this runs a check that is meant to fail (a test of the
/// checks themselves): its panics stay quiet too.
pub const EXPECTED_TO_FAIL: &str = "(expected to fail)";

/// `true` when `payload` is a `&str` or `String` that carries [`EXPECTED`], or a
/// [`PanicOnDrop`] used as a payload.
pub fn is_expected(payload: &(dyn Any + Send)) -> bool {
    payload.is::<PanicOnDrop>()
        || shoal_core::panic_message(payload).is_some_and(|m| m.contains(EXPECTED))
}

/// A value whose destructor panics (with an expected-panic message naming it): captured by a
/// job, it makes the job's destructor panic; used as a panic payload, it makes dropping the
/// payload panic too.
#[derive(Debug)]
pub struct PanicOnDrop(pub &'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            expected_panic(self.0);
        }
    }
}

/// Installs (once per process) a panic hook that is silent for expected panics.
pub fn quiet_expected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let meant_to_fail = std::thread::current()
                .name()
                .is_some_and(|n| n.contains(EXPECTED_TO_FAIL));
            if !is_expected(info.payload()) && !meant_to_fail {
                default(info);
            }
        }));
    });
}

/// Panics with an expected-panic message naming `what`.
pub fn expected_panic(what: &str) -> ! {
    panic::panic_any(format!("{EXPECTED} {what}"))
}
