//! The suite itself: the list of every scenario, once, and the macro that turns it into one
//! `#[test]` per scenario in a pool crate.
//!
//! The list lives in the macro so that [`SCENARIOS`] and the generated tests cannot disagree;
//! a test in the reference pool's module checks that every `pub fn name<F: Factory>` in
//! `scenarios/` is listed exactly once.

/// The names of every scenario in [`scenarios`](crate::scenarios), in the order the suite
/// declares them.
pub const SCENARIOS: &[&str] = crate::conformance_suite!(@list @names);

/// Expands to one `#[test]` per conformance scenario, each running
/// `shoal_testkit::scenarios::<name>(&$factory)`.
///
/// Use it once, in an integration test of the pool crate, with an expression that builds a
/// [`Factory`](crate::Factory) (usually a unit struct); see the [crate docs](crate). The
/// `@`-prefixed forms are internal.
#[macro_export]
macro_rules! conformance_suite {
    (@tests $factory:expr ; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::$name(&$factory);
            }
        )*
    };
    (@names ; $($name:ident),* $(,)?) => {
        &[$(stringify!($name)),*]
    };
    (@list $($head:tt)*) => {
        $crate::conformance_suite! { $($head)* ;
            // basics
            smoke,
            spawn_returns_values,
            workers_match_config,
            try_join_and_is_finished,
            dropped_handle_detaches,
            dyn_executor_box_and_arc,
            job_submits_jobs,
            stampede_many_submitters,
            unbounded_queue_accepts_everything,
            execute_fn_small_and_large,
            // config
            zero_workers_is_error,
            too_many_workers_is_error,
            zero_capacity_is_error,
            // panics
            panic_keeps_workers,
            panic_message_via_handle,
            panic_counted_in_metrics,
            panic_handler_sees_execute_payload,
            panic_handler_sees_spawn_message_copy,
            panicking_panic_handler_is_contained,
            panic_in_map_item,
            // shutdown
            shutdown_idle_pool,
            shutdown_graceful_drains_queue,
            shutdown_now_cancels_queued,
            shutdown_deadline_cancels_after_deadline,
            shutdown_deadline_met_is_graceful,
            shutdown_twice_same_report,
            concurrent_shutdowns,
            concurrent_shutdowns_mixed_modes,
            submit_after_shutdown_rejected,
            shutdown_joins_workers,
            drop_is_graceful,
            cancelled_job_with_panicking_drop,
            shutdown_report_matches_metrics,
            // bounded queue
            bounded_try_execute_full,
            bounded_try_execute_fn_full,
            bounded_try_spawn_full,
            bounded_execute_blocks_until_room,
            bounded_blocked_execute_on_graceful_shutdown,
            bounded_blocked_execute_on_shutdown_now,
            bounded_execute_from_worker_helps,
            bounded_backpressure_stampede,
            // resize
            resize_grow,
            resize_shrink_after_current_job,
            resize_under_load_no_job_lost,
            resize_invalid_counts_are_errors,
            resize_after_shutdown_is_error,
            resize_shrink_retires_threads,
            resize_inside_worker,
            // waits and calls from inside workers
            join_inside_worker,
            nested_join_chain,
            nested_join_tree,
            map_inside_worker,
            cross_pool_nested_join,
            shutdown_inside_worker,
            shutdown_now_inside_worker,
            drop_inside_worker,
            // join through the contract
            fork_join_from_outside,
            fork_join_borrows_the_stack,
            fork_join_inside_worker,
            fork_join_from_another_pool,
            fork_join_nested_10000_deep,
            fork_join_panics_reach_the_caller,
            fork_join_runs_halves_in_parallel,
            fork_join_parallel_while_a_worker_starts,
            fork_join_around_shutdown,
            fork_slices_through_the_contract,
            fork_slice_splits_for_idle_workers,
            // the result queue
            map_preserves_order,
            map_bounded_in_flight,
            map_unordered_yields_every_result,
            map_unordered_bounded_in_flight,
            map_after_shutdown_yields_cancelled,
            map_lazy_input,
            map_runs_the_window_while_the_caller_is_away,
            // metrics
            metrics_consistent_after_quiescence,
            metrics_track_running_and_queued,
            metrics_count_rejections,
            // worker threads: hooks and identity
            thread_hooks_run_on_every_worker,
            thread_hooks_follow_resize,
            panicking_thread_hooks_are_contained,
            current_worker_names_the_worker,
            worker_indices_stay_dense_across_resize,
            // broadcast
            broadcast_runs_once_on_every_worker,
            broadcast_reports_panics_per_worker,
            broadcast_waits_for_busy_workers,
            broadcast_from_inside_workers,
            broadcast_after_shutdown_is_error,
            broadcast_during_resize,
            // waiting for idle
            wait_idle_waits_for_queued_and_running,
            wait_idle_timeout_says_whether_idle,
            wait_idle_inside_worker_is_error,
            wait_idle_with_concurrent_submitters,
            wait_idle_during_and_after_shutdown,
            // cancelling a job
            cancel_queued_job,
            cancel_running_or_finished_job_is_refused,
            cancel_races_workers,
            cancel_then_shutdown_now_counts_once,
            // stopping without waiting
            shutdown_background_returns_at_once,
            shutdown_now_after_background_cancels,
            shutdown_deadline_after_background_returns_on_time,
            drop_in_background,
            drop_cancels_queued,
            // self-sizing pools
            elastic_grows_for_waiting_jobs_and_retires_when_idle,
            elastic_growth_is_bounded_by_max_and_by_the_backlog,
            resize_switches_sizing_off,
            sizing_decisions_reach_the_hook_and_shutdown_joins_the_supervisor,
            adaptive_pool_runs_every_job,
            invalid_sizing_is_error,
        }
    };
    ($factory:expr) => {
        $crate::conformance_suite!(@list @tests $factory);
    };
}
