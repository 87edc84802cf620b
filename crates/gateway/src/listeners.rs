//! Our own accept loops (not `axum::serve`, which has no header-read timeout, idle timeout
//! or connection cap): TCP accept under a connection cap, the TLS handshake through
//! `LazyConfigAcceptor` within a deadline, then HTTP/1.1 or HTTP/2 through hyper-util's
//! auto builder with a timer, so slow clients are cut off. At the connection cap the idle
//! keep-alive connection that has waited longest is closed to make room, so a flood of idle
//! connections never keeps a new client waiting. On shutdown the loops stop accepting and
//! in-flight requests get until a deadline to finish.

use std::collections::HashMap;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use crate::edge::{ConnectionInfo, Edge, ServerName};
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

/// The open client connections of both listeners, under one cap.
#[derive(Debug)]
pub struct Connections {
    permits: Arc<Semaphore>,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
    next: AtomicU64,
    started: Instant,
    /// Wakes [`Connections::drained`] when a connection ends.
    ended: Notify,
}

/// One open connection, as the cap sees it.
#[derive(Debug)]
struct Connection {
    /// Requests being answered now.
    in_flight: AtomicUsize,
    /// Milliseconds since [`Connections::started`] of the last request's end (or the start).
    last_active: AtomicU64,
    /// Asked to close (by the cap or by shutdown).
    closing: AtomicBool,
    close: Notify,
}

impl Connections {
    /// Room for `max` connections at once.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Connections {
            permits: Arc::new(Semaphore::new(max)),
            open: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            started: Instant::now(),
            ended: Notify::new(),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A place for one more connection: at once while there is room; at the cap, after
    /// asking the longest-idle keep-alive connection to close (or, when every connection is
    /// busy, when one ends).
    async fn place(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Some(permit);
        }
        self.close_longest_idle();
        Arc::clone(&self.permits).acquire_owned().await.ok()
    }

    fn close_longest_idle(&self) {
        let Ok(open) = self.open.lock() else {
            return;
        };
        let idle = open
            .values()
            .filter(|c| {
                c.in_flight.load(Ordering::Acquire) == 0 && !c.closing.load(Ordering::Acquire)
            })
            .min_by_key(|c| c.last_active.load(Ordering::Relaxed));
        if let Some(connection) = idle {
            connection.closing.store(true, Ordering::Release);
            connection.close.notify_one();
        }
    }

    fn register(self: &Arc<Self>) -> (u64, Arc<Connection>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            in_flight: AtomicUsize::new(0),
            last_active: AtomicU64::new(self.now_ms()),
            closing: AtomicBool::new(false),
            close: Notify::new(),
        });
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, Arc::clone(&connection));
        }
        (id, connection)
    }

    fn unregister(&self, id: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&id);
        }
        self.ended.notify_waiters();
    }

    /// Asks every connection to finish its requests and close.
    fn close_all(&self) {
        if let Ok(open) = self.open.lock() {
            for connection in open.values() {
                connection.closing.store(true, Ordering::Release);
                connection.close.notify_one();
            }
        }
    }

    /// Waits until no connection is open.
    async fn drained(&self) {
        loop {
            let ended = self.ended.notified();
            if self.open.lock().map_or(true, |open| open.is_empty()) {
                return;
            }
            ended.await;
        }
    }
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
    connections: Arc<Connections>,
    mut stop: watch::Receiver<bool>,
) {
    let builder = http_builder(limits);
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
        // At the cap, make room by closing an idle connection, or wait for one to end.
        let permit = tokio::select! {
            permit = connections.place() => match permit {
                Some(permit) => permit,
                None => break,
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let edge = Arc::clone(&edge);
        let builder = builder.clone();
        let tls = tls.clone();
        let connections = Arc::clone(&connections);
        tokio::spawn(async move {
            let _permit = permit;
            let (id, connection) = connections.register();
            edge.metrics.connection(1);
            let watched = Watched {
                connection,
                connections: Arc::clone(&connections),
            };
            match tls {
                None => {
                    let info = ConnectionInfo {
                        tls: false,
                        sni: ServerName::Absent,
                        peer,
                    };
                    let stream = FirstByteDeadline::new(stream, limits.header_read_timeout);
                    let builder = builder.http1_only();
                    serve_io(stream, info, Arc::clone(&edge), &builder, watched).await;
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
                            sni: ServerName::of(sni.as_deref()),
                            peer,
                        };
                        let stream = FirstByteDeadline::new(stream, limits.header_read_timeout);
                        serve_io(stream, info, Arc::clone(&edge), &builder, watched).await;
                    }
                    Err(error) => {
                        edge.metrics.handshake(false);
                        tracing::debug!(%peer, %error, "TLS handshake failed");
                    }
                },
            }
            edge.metrics.connection(-1);
            connections.unregister(id);
        });
    }
    drop(listener);
    connections.close_all();
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.drained())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still busy after {SHUTDOWN_GRACE:?}; closing them");
    }
}

/// A connection with the registry that may ask it to close.
struct Watched {
    connection: Arc<Connection>,
    connections: Arc<Connections>,
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

/// Serves HTTP/1.1 or HTTP/2 on one connection until the client is done, or until it is
/// asked to close (shutdown, or the cap needs its place), then finishes its requests in
/// flight and closes (HTTP/2: GOAWAY).
async fn serve_io<I>(
    io: I,
    info: ConnectionInfo,
    edge: Arc<Edge>,
    builder: &auto::Builder<TokioExecutor>,
    watched: Watched,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let info = Arc::new(info);
    let Watched {
        connection: state,
        connections,
    } = watched;
    let in_service = Arc::clone(&state);
    let service = service_fn(move |request| {
        let edge = Arc::clone(&edge);
        let info = Arc::clone(&info);
        let state = Arc::clone(&in_service);
        let connections = Arc::clone(&connections);
        async move {
            state.in_flight.fetch_add(1, Ordering::AcqRel);
            let response = edge.handle(request, info).await;
            state
                .last_active
                .store(connections.now_ms(), Ordering::Relaxed);
            state.in_flight.fetch_sub(1, Ordering::AcqRel);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        () = state.close.notified() => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
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
