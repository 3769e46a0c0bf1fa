//! Logs and metrics: tracing-subscriber (human or JSON, on stderr) and a Prometheus
//! recorder whose text is served at `/metrics` on every listener.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global tracing subscriber. Safe to call more than once (tests).
pub fn init_tracing(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Human => registry
            .with(
                fmt::layer()
                    .with_ansi(colour_logs())
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
}

/// Colour codes only for a person at a terminal: a log written to a file or a
/// pipe (systemd, docker, `2> log`) would carry `\e[..m` sequences inside its
/// fields. `NO_COLOR` (no-color.org) turns them off at a terminal too.
fn colour_logs() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Folds the histogram samples recorded since the last call into their buckets.
/// The recorder keeps every sample (about 16 bytes each) until it is rendered or upkept:
/// with nothing scraping `/metrics`, memory grew with every event handled (issue
/// 14, defect 5). The server calls it every few seconds (`app`).
pub fn upkeep() {
    metrics().run_upkeep();
}

/// The process-wide Prometheus handle, installing the recorder on first use.
pub fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Another recorder may be installed already (an embedding program); then
            // our handle renders an empty page rather than failing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
