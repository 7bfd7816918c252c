//! The timing loop shared by the bench binaries that measure one call
//! (`#[path]`-included, so no crate and no criterion in the test graph).

use std::time::{Duration, Instant};

/// Median nanoseconds per call over 21 batches of about 20 ms each.
pub fn measure(mut f: impl FnMut()) -> f64 {
    let mut per_batch = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        if start.elapsed() >= Duration::from_millis(20) {
            break;
        }
        per_batch *= 2;
    }
    let mut samples: Vec<f64> = (0..21)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            start.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// One `BENCH name value unit` line, as `cargo xtask bench` reads them.
pub fn report(name: &str, value: f64, unit: &str) {
    println!("BENCH {name} {value:.0} {unit}");
}
