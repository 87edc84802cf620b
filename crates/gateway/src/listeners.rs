//! Our own accept loops (not `axum::serve`, which has no header-read timeout, idle timeout
//! or connection cap): TCP accept under a connection cap, the TLS handshake through
//! `LazyConfigAcceptor` within a deadline, then HTTP/1.1 or HTTP/2 through hyper-util's
//! auto builder with a timer, so slow clients are cut off. On shutdown the loops stop
//! accepting and in-flight requests get until a deadline to finish.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use crate::edge::{ConnectionInfo, Edge};
use crate::tls;

/// How long a client has to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Largest request head (HTTP/1.1 buffer and HTTP/2 header list).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Concurrent streams per HTTP/2 connection.
pub const MAX_STREAMS: u32 = 100;

/// Connection-level settings.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at most (both listeners together).
    pub max_connections: usize,
    /// Time to send a complete request head; also the keep-alive idle limit on HTTP/1.1.
    pub header_read_timeout: Duration,
}

fn http_builder(limits: ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS)
        .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    builder
}

/// Serves `listener` until `stop` turns true, then waits up to [`SHUTDOWN_GRACE`] for
/// connections to finish. `tls` is the server config for the HTTPS listener.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    edge: Arc<Edge>,
    limits: ConnectionLimits,
    permits: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let builder = http_builder(limits);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        // At the cap, wait for a place before accepting more (the kernel queues the rest).
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let edge = Arc::clone(&edge);
        let builder = builder.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            edge.metrics.connection(1);
            match tls {
                None => {
                    let info = ConnectionInfo {
                        tls: false,
                        sni: None,
                        peer,
                    };
                    let stream = FirstByteDeadline::new(stream, limits.header_read_timeout);
                    let builder = builder.http1_only();
                    serve_io(stream, info, Arc::clone(&edge), &builder, watcher).await;
                }
                Some(config) => match handshake(stream, config, &edge).await {
                    Ok(Handshake::AcmeChallenge(mut stream)) => {
                        // RFC 8737 §3: the CA only completes the handshake; nothing follows.
                        edge.metrics.handshake(true);
                        let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
                    }
                    Ok(Handshake::Http(stream, sni)) => {
                        edge.metrics.handshake(true);
                        // ALPN decided the protocol during the handshake.
                        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                        let builder = if h2 {
                            builder.http2_only()
                        } else {
                            builder.http1_only()
                        };
                        let info = ConnectionInfo {
                            tls: true,
                            sni,
                            peer,
                        };
                        let stream = FirstByteDeadline::new(stream, limits.header_read_timeout);
                        serve_io(stream, info, Arc::clone(&edge), &builder, watcher).await;
                    }
                    Err(error) => {
                        edge.metrics.handshake(false);
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                    }
                },
            }
            edge.metrics.connection(-1);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still busy after {SHUTDOWN_GRACE:?}; closing them");
    }
}

/// A completed TLS handshake.
enum Handshake {
    /// An ordinary client, with its SNI name.
    Http(TlsStream<TcpStream>, Option<String>),
    /// An ACME CA checking a TLS-ALPN-01 challenge.
    AcmeChallenge(TlsStream<TcpStream>),
}

/// The TLS handshake within [`HANDSHAKE_TIMEOUT`]. A client offering only ALPN
/// `acme-tls/1` gets the TLS-ALPN-01 challenge certificate for its SNI from the platform
/// store (whichever replica stored it), or no handshake when there is none.
async fn handshake(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    edge: &Edge,
) -> std::io::Result<Handshake> {
    let accepted = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
        let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await?;
        let hello = start.client_hello();
        let sni = hello.server_name().map(str::to_ascii_lowercase);
        let acme = hello.alpn().is_some_and(|mut offered| {
            offered.next() == Some(tls::ACME_TLS_ALPN) && offered.next().is_none()
        });
        if acme {
            let config = challenge_config(edge, sni.as_deref()).await?;
            return Ok(Handshake::AcmeChallenge(start.into_stream(config).await?));
        }
        let stream = start.into_stream(config).await?;
        Ok::<_, std::io::Error>(Handshake::Http(stream, sni))
    })
    .await;
    accepted.unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "handshake timed out",
        ))
    })
}

/// The TLS-ALPN-01 answer for `sni`, if the platform store holds a current one.
async fn challenge_config(
    edge: &Edge,
    sni: Option<&str>,
) -> std::io::Result<Arc<rustls::ServerConfig>> {
    let refuse = |why: String| std::io::Error::new(std::io::ErrorKind::NotFound, why);
    let name = sni.ok_or_else(|| refuse("acme-tls/1 without SNI".to_owned()))?;
    let domain = tenant_core::Hostname::parse(name).map_err(|e| refuse(e.to_string()))?;
    // Names that are not ours never reach the store.
    if edge.directory().lookup(&domain).is_none() {
        return Err(refuse(format!(
            "acme-tls/1 for {domain}, which is not served here"
        )));
    }
    let key_authorization = edge
        .platform
        .tls_alpn_answer(&domain)
        .await
        .map_err(|e| refuse(format!("cannot read ACME challenge answers: {e}")))?
        .ok_or_else(|| refuse(format!("no TLS-ALPN-01 challenge for {domain}")))?;
    tls::tls_alpn_config(domain.as_str(), &key_authorization).map_err(refuse)
}

/// Serves HTTP/1.1 or HTTP/2 on one connection, watched for graceful shutdown.
async fn serve_io<I>(
    io: I,
    info: ConnectionInfo,
    edge: Arc<Edge>,
    builder: &auto::Builder<TokioExecutor>,
    watcher: Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let info = Arc::new(info);
    let service = service_fn(move |request| {
        let edge = Arc::clone(&edge);
        let info = Arc::clone(&info);
        async move { Ok::<_, std::convert::Infallible>(edge.handle(request, info).await) }
    });
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    let _ = watcher.watch(connection.into_owned()).await;
}

/// An IO that fails reads with `TimedOut` when no byte has arrived by a deadline. hyper's
/// header timer starts only at the first byte, so without this a client that connects (or
/// finishes the TLS handshake) and says nothing would hold its connection for ever.
struct FirstByteDeadline<I> {
    inner: I,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<I> FirstByteDeadline<I> {
    fn new(inner: I, within: Duration) -> Self {
        FirstByteDeadline {
            inner,
            deadline: Some(Box::pin(tokio::time::sleep(within))),
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for FirstByteDeadline<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &result {
            Poll::Ready(Ok(())) if buf.filled().len() > before => self.deadline = None,
            Poll::Pending => {
                if let Some(deadline) = self.deadline.as_mut()
                    && deadline.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client sent nothing",
                    )));
                }
            }
            _ => {}
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for FirstByteDeadline<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
