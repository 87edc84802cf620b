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
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
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
