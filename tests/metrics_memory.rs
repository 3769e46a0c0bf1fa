//! Histogram samples do not pile up when nothing scrapes `/metrics` (issue 14,
//! defect 5): metrics-exporter-prometheus keeps every sample until the handle is
//! rendered or upkept, so the server upkeeps it now and then
//! (`chatwire::telemetry::upkeep`). Its own test binary: it counts the bytes the
//! process holds with a global allocator of its own.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicIsize, Ordering},
};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call goes to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const SAMPLES: usize = 200_000;

fn record(n: usize) {
    for i in 0..n {
        metrics::histogram!("chatwire_handler_seconds", "profile" => "test")
            .record(i as f64 * 1e-6);
    }
}

/// Upkeep, then a few more samples: the recorder frees drained blocks through
/// crossbeam's epochs, on later pins, so what upkeep gave back is counted only then.
fn upkeep_and_settle() {
    for _ in 0..4 {
        chatwire::telemetry::upkeep();
        record(1000);
    }
    chatwire::telemetry::upkeep();
}

#[test]
fn upkeep_bounds_histogram_samples() {
    chatwire::telemetry::metrics();
    // the series exists and has been drained: what stays from here on is its buckets
    record(SAMPLES);
    upkeep_and_settle();
    let before = LIVE.load(Ordering::Relaxed);

    record(SAMPLES);
    let held = LIVE.load(Ordering::Relaxed) - before;
    // about 16 bytes a sample while nothing drains them: the growth upkeep bounds
    assert!(
        held >= (SAMPLES * 6) as isize,
        "{held} bytes held for {SAMPLES} samples"
    );

    upkeep_and_settle();
    let after = LIVE.load(Ordering::Relaxed) - before;
    assert!(
        after < 64 * 1024,
        "{after} bytes still held after upkeep ({held} before it)"
    );
}
