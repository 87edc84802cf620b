//! A brand's HTTP surface: axum handlers, pages, static assets and the `/api/v1` JSON API.
//! It turns HTTP into `tenant-core` calls and back, for the one tenant whose context the
//! gateway hands it, and knows nothing of TLS or of other tenants.
