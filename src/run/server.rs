//! The HTTP listener of `ekas run`: Prometheus `/metrics`, and `/healthz`, which turns
//! unhealthy when passes stop completing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use color_eyre::eyre::{Result, WrapErr};

use crate::metrics::metrics;

/// When the last pass completed (Unix seconds), and how stale it may get.
#[derive(Clone)]
pub struct Health {
    last_pass: Arc<AtomicU64>,
    pub stale_after: Duration,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Health {
    /// Healthy at start: the first pass gets `stale_after` to complete.
    pub fn new(stale_after: Duration) -> Health {
        Health {
            last_pass: Arc::new(AtomicU64::new(unix_now())),
            stale_after,
        }
    }

    /// A pass completed, or a standby replica checked the Lease: the process makes progress.
    pub fn beat(&self) {
        self.last_pass.store(unix_now(), Ordering::Relaxed);
    }

    pub fn healthy(&self) -> bool {
        unix_now().saturating_sub(self.last_pass.load(Ordering::Relaxed))
            <= self.stale_after.as_secs()
    }
}

/// Binds first, so a taken port is an error at start, then serves in the background.
pub async fn serve(address: SocketAddr, health: Health) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .wrap_err_with(|| format!("cannot listen on --metrics-address {address}"))?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route(
            "/metrics",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics().encode(),
                )
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let health = health.clone();
                async move {
                    if health.healthy() {
                        (StatusCode::OK, "ok\n").into_response()
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "no pass completed recently\n",
                        )
                            .into_response()
                    }
                }
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    });
    Ok(bound)
}
