//! Latency recording and the report every bench mode prints.

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// Latencies from many workers, in microseconds (1 µs to 60 s, 3 significant digits).
pub struct Latencies {
    merged: Mutex<Histogram<u64>>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self {
            merged: Mutex::new(new_histogram()),
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts; failure would be a bug here.
    #[allow(clippy::unwrap_used)]
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// One worker's latencies, merged into [`Latencies`] when it finishes, so workers never
/// contend on a lock per operation.
pub struct WorkerLatencies {
    histogram: Histogram<u64>,
}

impl Default for WorkerLatencies {
    fn default() -> Self {
        Self {
            histogram: new_histogram(),
        }
    }
}

impl WorkerLatencies {
    /// Records one operation.
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(micros.max(1));
    }

    /// Records `count` operations that each took `latency` (a batch).
    pub fn record_n(&mut self, latency: Duration, count: u64) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        // Out of range values are clamped by saturating_record; record_n cannot clamp.
        let clamped = micros.clamp(1, self.histogram.high());
        let _ = self.histogram.record_n(clamped, count);
    }
}

impl Latencies {
    /// Adds a finished worker's latencies.
    pub fn merge(&self, worker: WorkerLatencies) {
        let _ = self.merged.lock().add(worker.histogram);
    }

    /// The report for `operations` completed in `elapsed`.
    pub fn report(&self, label: &str, operations: u64, errors: u64, elapsed: Duration) -> Report {
        let histogram = self.merged.lock();
        let at = |q: f64| Duration::from_micros(histogram.value_at_quantile(q));
        Report {
            label: label.to_owned(),
            operations,
            errors,
            elapsed,
            p50: at(0.5),
            p99: at(0.99),
            p999: at(0.999),
            max: Duration::from_micros(histogram.max()),
        }
    }
}

/// What a bench run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// What was measured (e.g. `producer`, `echo`).
    pub label: String,
    /// Operations (messages) completed.
    pub operations: u64,
    /// Operations that failed.
    pub errors: u64,
    /// Wall time of the measurement.
    pub elapsed: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// 99.9th percentile latency.
    pub p999: Duration,
    /// Largest latency.
    pub max: Duration,
}

impl Report {
    /// Operations per second.
    pub fn tps(&self) -> f64 {
        self.operations as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ops in {:.2} s = {:.0} ops/s, errors {}, latency ms p50 {:.3} p99 {:.3} p999 {:.3} max {:.3}",
            self.label,
            self.operations,
            self.elapsed.as_secs_f64(),
            self.tps(),
            self.errors,
            ms(self.p50),
            ms(self.p99),
            ms(self.p999),
            ms(self.max)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_every_worker() {
        let all = Latencies::default();
        let mut a = WorkerLatencies::default();
        let mut b = WorkerLatencies::default();
        for _ in 0..990 {
            a.record(Duration::from_micros(100));
        }
        for _ in 0..10 {
            b.record(Duration::from_millis(50));
        }
        all.merge(a);
        all.merge(b);
        let report = all.report("t", 1000, 0, Duration::from_secs(2));
        assert_eq!(report.p50, Duration::from_micros(100));
        assert!(report.p999 >= Duration::from_millis(49), "{report}");
        assert!((report.tps() - 500.0).abs() < 1e-9);
        assert!(report.to_string().contains("500 ops/s"));
    }
}
