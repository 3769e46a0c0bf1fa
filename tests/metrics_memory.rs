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

fn record() {
    for i in 0..SAMPLES {
        metrics::histogram!("chatwire_handler_seconds", "profile" => "test")
            .record(i as f64 * 1e-6);
    }
}

#[test]
fn upkeep_bounds_histogram_samples() {
    chatwire::telemetry::metrics();
    // the series exists and is drained once: what stays from here on is its buckets
    record();
    chatwire::telemetry::upkeep();
    let before = LIVE.load(Ordering::Relaxed);

    record();
    let held = LIVE.load(Ordering::Relaxed) - before;
    // 8 bytes a sample while nothing drains them: the growth upkeep bounds
    assert!(
        held >= (SAMPLES * 8) as isize,
        "{held} bytes held for {SAMPLES} samples"
    );

    chatwire::telemetry::upkeep();
    let after = LIVE.load(Ordering::Relaxed) - before;
    assert!(
        after < 64 * 1024,
        "{after} bytes still held after upkeep ({held} before it)"
    );
}
