//! The spawn hook and the thread-settings checks.
#![cfg(not(any(shoal_loom, shoal_shuttle)))]

use std::io;

use shoal_core::spawn::{before_spawn, check_thread_config, SpawnHook, SpawnInfo, MIN_STACK_SIZE};
use shoal_core::BuildErrorKind;

#[test]
fn panicking_hook_is_a_refusal() {
    let hook = SpawnHook::new(|_: &SpawnInfo<'_>| panic!("hook bug"));
    let err = before_spawn(Some(&hook), "w-0", 0).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);
    assert!(err.to_string().contains("hook bug"), "{err}");
}

#[test]
fn no_hook_allows() {
    assert!(before_spawn(None, "w-0", 0).is_ok());
}

#[test]
fn thread_config_checks() {
    assert!(check_thread_config(None, None).is_ok());
    assert!(check_thread_config(Some("ok"), Some(MIN_STACK_SIZE)).is_ok());
    let small = check_thread_config(None, Some(MIN_STACK_SIZE - 1)).unwrap_err();
    assert_eq!(small.kind(), BuildErrorKind::InvalidThreadConfig);
    let zero = check_thread_config(None, Some(0)).unwrap_err();
    assert_eq!(zero.kind(), BuildErrorKind::InvalidThreadConfig);
    let nul = check_thread_config(Some("a\0b"), None).unwrap_err();
    assert_eq!(nul.kind(), BuildErrorKind::InvalidThreadConfig);
    assert!(nul.to_string().contains("NUL"), "{nul}");
}
