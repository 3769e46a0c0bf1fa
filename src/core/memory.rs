//! Giving freed memory back to the system.
//!
//! glibc's malloc keeps what the process freed in its arenas (one per thread that
//! allocated, up to 8 per core) and returns it only from the top of each heap. After
//! a burst (thousands of malformed requests, a flood) RSS stayed where the burst left
//! it and climbed a little with each further burst (issue 14, defect 5).
//! `malloc_trim(0)` releases the free pages inside every arena too. It is cheap when
//! there is little to release and is called now and then by a background task.
//! Other allocators and platforms: nothing to do.

/// Returns free heap pages to the system where the allocator allows it.
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists, under its locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How often the background task gives memory back.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(10);
