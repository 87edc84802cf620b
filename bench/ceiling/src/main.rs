//! The benchmark's ceiling: a bare hyper + rustls HTTPS server (HTTP/1.1 and HTTP/2) that
//! answers every request with the same body. What the gateway does beyond this —
//! routing, tenant lookup, limits, headers, the page itself — is the difference the
//! benchmark table shows.
//!
//! Usage: `ceiling ADDRESS CERT.pem KEY.pem [BODY_FILE]`

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

type Body = http_body_util::Full<Bytes>;

/// The crypto provider `CEILING_PROVIDER` names: `ring` (the default, as the gateway
/// uses), or with the `aws-lc-rs` feature `aws-lc-rs` (X25519 first) and `aws-lc-rs-pq`
/// (X25519MLKEM768 first).
fn provider() -> Result<rustls::crypto::CryptoProvider, Box<dyn std::error::Error>> {
    let wanted = std::env::var("CEILING_PROVIDER").unwrap_or_else(|_| "ring".to_owned());
    match wanted.as_str() {
        "ring" => Ok(rustls::crypto::ring::default_provider()),
        #[cfg(feature = "aws-lc-rs")]
        "aws-lc-rs" => {
            use rustls::crypto::aws_lc_rs::{self, kx_group};
            Ok(rustls::crypto::CryptoProvider {
                kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
                ..aws_lc_rs::default_provider()
            })
        }
        #[cfg(feature = "aws-lc-rs")]
        "aws-lc-rs-pq" => {
            use rustls::crypto::aws_lc_rs::{self, kx_group};
            Ok(rustls::crypto::CryptoProvider {
                kx_groups: vec![
                    kx_group::X25519MLKEM768,
                    kx_group::X25519,
                    kx_group::SECP256R1,
                    kx_group::SECP384R1,
                ],
                ..aws_lc_rs::default_provider()
            })
        }
        other => Err(format!("CEILING_PROVIDER={other}: not built into this ceiling").into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(address), Some(cert), Some(key)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: ceiling ADDRESS CERT.pem KEY.pem [BODY_FILE]".into());
    };
    // The body every request gets: a small fixed page, or the bytes of BODY_FILE (the
    // benchmark gives it the page the gateway serves, so both send the same bytes).
    let body = match args.next() {
        Some(file) => Bytes::from(std::fs::read(file)?),
        None => Bytes::from_static(b"<!doctype html><title>ceiling</title><h1>ceiling</h1>\n"),
    };
    let chain = rustls_pemfile::certs(&mut std::fs::read(cert)?.as_slice())
        .collect::<Result<Vec<_>, _>>()?;
    let key = rustls_pemfile::private_key(&mut std::fs::read(key)?.as_slice())?.ok_or("no key")?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider()?))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let acceptor = acceptor.clone();
        let body = body.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service = service_fn(move |_request: Request<hyper::body::Incoming>| {
                let body = body.clone();
                async move { Ok::<_, Infallible>(Response::new(Body::new(body))) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
