//! The benchmark's ceiling: a bare hyper + rustls HTTPS server (HTTP/1.1 and HTTP/2) that
//! answers every request with the same body. What the gateway does beyond this —
//! routing, tenant lookup, limits, headers, the page itself — is the difference the
//! benchmark table shows.
//!
//! Usage: `ceiling ADDRESS CERT.pem KEY.pem [BODY_FILE]`, or as a TLS client that measures
//! new connections with a chosen key exchange: `ceiling handshakes …` (see below).

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

type Body = http_body_util::Full<Bytes>;

/// The crypto provider `CEILING_PROVIDER` names: `aws-lc-rs-pq` (the default, as the
/// gateway: X25519MLKEM768 first), `aws-lc-rs` (X25519 first), or with the `ring` feature
/// `ring`.
fn provider() -> Result<rustls::crypto::CryptoProvider, Box<dyn std::error::Error>> {
    use rustls::crypto::aws_lc_rs::{self, kx_group};
    let wanted = std::env::var("CEILING_PROVIDER").unwrap_or_else(|_| "aws-lc-rs-pq".to_owned());
    match wanted.as_str() {
        "aws-lc-rs-pq" => Ok(aws_lc_rs::default_provider()),
        "aws-lc-rs" => Ok(rustls::crypto::CryptoProvider {
            kx_groups: vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1],
            ..aws_lc_rs::default_provider()
        }),
        #[cfg(feature = "ring")]
        "ring" => Ok(rustls::crypto::aws_lc_rs::default_provider()),
        other => Err(format!("CEILING_PROVIDER={other}: not built into this ceiling").into()),
    }
}

/// `ceiling handshakes ADDRESS HOST CERT.pem GROUP COUNT [PARALLEL]`: a TLS client that
/// makes COUNT new connections to ADDRESS (PARALLEL at a time, default 1), each a full
/// handshake offering only the key exchange GROUP (`x25519mlkem768`, `x25519` or
/// `secp256r1`) and trusting CERT.pem for HOST, then one `GET /` with `Connection: close`
/// read to its end. Prints connections per second, the mean time of one, and the group
/// the server chose. The clients wrk and curl use here (OpenSSL 3.0) cannot offer
/// X25519MLKEM768, so this is how its cost is measured.
async fn handshakes(
    mut args: impl Iterator<Item = String>,
) -> Result<(), Box<dyn std::error::Error>> {
    use rustls::crypto::aws_lc_rs::{self, kx_group};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let usage = "usage: ceiling handshakes ADDRESS HOST CERT.pem GROUP COUNT [PARALLEL]";
    let (Some(address), Some(host), Some(cert), Some(group), Some(count)) = (
        args.next(),
        args.next(),
        args.next(),
        args.next(),
        args.next(),
    ) else {
        return Err(usage.into());
    };
    let count: usize = count.parse().map_err(|_| usage)?;
    let parallel: usize = args
        .next()
        .map_or(Ok(1), |p| p.parse())
        .map_err(|_| usage)?;
    let group = match group.as_str() {
        "x25519mlkem768" => kx_group::X25519MLKEM768,
        "x25519" => kx_group::X25519,
        "secp256r1" => kx_group::SECP256R1,
        other => return Err(format!("unknown group {other}; {usage}").into()),
    };
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_pemfile::certs(&mut std::fs::read(cert)?.as_slice()) {
        roots.add(certificate?)?;
    }
    let provider = rustls::crypto::CryptoProvider {
        kx_groups: vec![group],
        ..aws_lc_rs::default_provider()
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Every connection a full handshake, as wrk's `Connection: close` runs make.
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from(host.clone())?;
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let mut workers = Vec::new();
    for _ in 0..parallel.max(1) {
        let (connector, name, address, request, next) = (
            connector.clone(),
            name.clone(),
            address.clone(),
            request.clone(),
            Arc::clone(&next),
        );
        workers.push(tokio::spawn(async move {
            let mut chosen = None;
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count {
                let tcp = tokio::net::TcpStream::connect(&address).await?;
                tcp.set_nodelay(true)?;
                let mut tls = connector.connect(name.clone(), tcp).await?;
                chosen = tls
                    .get_ref()
                    .1
                    .negotiated_key_exchange_group()
                    .map(|g| g.name());
                tls.write_all(request.as_bytes()).await?;
                let mut answer = Vec::new();
                // A server may close without close_notify after `Connection: close`.
                let _ = tls.read_to_end(&mut answer).await;
                if !answer.starts_with(b"HTTP/1.1 200") {
                    return Err(format!(
                        "not a 200 answer: {:?}",
                        String::from_utf8_lossy(&answer[..answer.len().min(40)])
                    )
                    .into());
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(chosen)
        }));
    }
    let mut chosen = None;
    for worker in workers {
        chosen = worker.await?.map_err(|e| e.to_string())?.or(chosen);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{count} connections in {seconds:.2} s: {:.0}/s, {:.0} us each per client, group {:?}",
        count as f64 / seconds,
        seconds * 1e6 * parallel.max(1) as f64 / count as f64,
        chosen
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|a| a == "handshakes") {
        args.next();
        return handshakes(args).await;
    }
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
    // As the gateway: AES-128-GCM first, in the server's order (its handshake hashes with
    // SHA-256, which processors do in hardware); `CEILING_ORDER=client` keeps rustls's
    // order (AES-256-GCM with SHA-384 first) and follows the client's.
    let server_order = std::env::var("CEILING_ORDER").as_deref() != Ok("client");
    let mut provider = provider()?;
    if server_order {
        provider
            .cipher_suites
            .sort_by_key(|suite| !format!("{:?}", suite.suite()).contains("AES_128"));
    }
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ignore_client_order = server_order;
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
