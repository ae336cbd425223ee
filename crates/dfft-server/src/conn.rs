//! Connections: the accept loop, per-connection timeouts and the cap on
//! concurrent connections, in place of `axum::serve`.
//!
//! Every accepted TCP connection is served by hyper's HTTP/1.1 server with
//! a timer, and watched:
//!
//! - **Header timeout**: a request head must arrive complete within
//!   [`Limits::header_timeout`] of its first byte.
//! - **Idle timeout**: a connection with no request in progress that moves
//!   no byte for [`Limits::idle_timeout`] is closed (a new connection that
//!   sends nothing, or a kept-alive one between requests).
//! - hyper's own `header_read_timeout`, whose clock starts as soon as the
//!   connection waits for a head (idle or not), is set to the sum of the
//!   two, as a second line behind the watchdog's.
//! - **Write timeout**: a response write that makes no progress for
//!   [`Limits::write_timeout`] (a client that does not read its answer)
//!   closes the connection. The timeout is per stall, not per answer: a
//!   client reading a byte now and then keeps its connection.
//! - **Cap**: at most [`Limits::max_connections`] connections are served at
//!   once. At the cap the loop still accepts the newcomer and closes the
//!   connection that has been idle longest (no request in progress) to
//!   make room; only when every connection has a request in progress does
//!   it stop accepting until one ends, and new clients wait in the
//!   kernel's listen backlog. Stopping outright would let idle or
//!   slow-header sockets lock every client out until their timeouts
//!   expire; refusing the newcomer would refuse the legitimate client as
//!   often as the attacker. Evicting the longest idle one costs an
//!   attacker's oldest socket first and never a request in progress (a
//!   kept-alive client that loses its idle connection reconnects).
//!
//! Shutdown is graceful: the loop stops accepting, every connection
//! finishes the request it is serving and closes (one still receiving a
//! request head closes at once), and [`serve`] returns once all have
//! closed (the timeouts above bound how long that takes).
//!
//! Leaves out: TLS and HTTP/2 (terminate them in a front-end proxy), limits
//! per client address (the proxy's job too), request body size and memory
//! (in [`crate::api`]), the descriptor limit (the binary raises it and
//! sizes the cap).
//!
//! Why this file is long: one connection's life (accept, cap, watchdog,
//! timeouts, shutdown) is one state machine; split, its invariants would be
//! spread over files.

use crate::Limits;
use axum::body::{Body, HttpBody};
use axum::http::{Request, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

/// Largest read or write buffer of one connection, bytes: bounds what a
/// slow-header connection pins (hyper's default is about 400 KiB), and the
/// largest request head (431 beyond).
const MAX_BUF: usize = 16 * 1024;

/// Counters of the connection layer, rendered with the other metrics.
#[derive(Default)]
pub struct ConnStats {
    open: AtomicU64,
    accepted: AtomicU64,
    closed: [AtomicU64; Close::ALL.len()],
    accept_errors: AtomicU64,
    at_cap: AtomicU64,
}

/// Why the server closed a connection before the client did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    /// No complete request head within the header timeout.
    HeaderTimeout,
    /// No request in progress and no byte moved for the idle timeout.
    Idle,
    /// A response write stalled for the write timeout.
    WriteTimeout,
    /// Closed at the cap to make room for a new connection.
    Evicted,
    /// Still reading a request head when the server shut down.
    Shutdown,
}

impl Close {
    const ALL: [Close; 5] = [
        Close::HeaderTimeout,
        Close::Idle,
        Close::WriteTimeout,
        Close::Evicted,
        Close::Shutdown,
    ];
    fn label(self) -> &'static str {
        match self {
            Close::HeaderTimeout => "header_timeout",
            Close::Idle => "idle",
            Close::WriteTimeout => "write_timeout",
            Close::Evicted => "evicted",
            Close::Shutdown => "shutdown",
        }
    }
}

impl ConnStats {
    fn closed(&self, why: Close) {
        if let Some(i) = Close::ALL.iter().position(|c| *c == why) {
            self.closed[i].fetch_add(1, Relaxed);
        }
    }

    /// The counters in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP dfft_connections_open Client connections being served.\n# TYPE dfft_connections_open gauge\ndfft_connections_open {}",
            self.open.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP dfft_connections_accepted_total Client connections accepted.\n# TYPE dfft_connections_accepted_total counter\ndfft_connections_accepted_total {}",
            self.accepted.load(Relaxed)
        );
        let _ = writeln!(out, "# HELP dfft_connections_closed_total Connections the server closed, by reason.\n# TYPE dfft_connections_closed_total counter");
        for (c, n) in Close::ALL.iter().zip(&self.closed) {
            let _ = writeln!(
                out,
                "dfft_connections_closed_total{{reason=\"{}\"}} {}",
                c.label(),
                n.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP dfft_connections_at_cap_total Connections accepted while at the cap.\n# TYPE dfft_connections_at_cap_total counter\ndfft_connections_at_cap_total {}",
            self.at_cap.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP dfft_accept_errors_total Failed accepts (e.g. out of descriptors).\n# TYPE dfft_accept_errors_total counter\ndfft_accept_errors_total {}",
            self.accept_errors.load(Relaxed)
        );
        out
    }
}

/// What the watchdog of one connection knows about it. Times are
/// milliseconds since `base`.
struct ConnState {
    base: Instant,
    /// Last time a byte was read or written.
    last_io: AtomicU64,
    /// 1 + the time a write first returned `Pending`; 0 while writes flow.
    write_stalled: AtomicU64,
    /// 1 + the time the first byte of a request head was read; 0 when no
    /// head is being read.
    head_since: AtomicU64,
    /// Requests in progress: from the parsed head until hyper drops the
    /// response body.
    busy: AtomicUsize,
    /// When `busy` last dropped to 0 (or the accept): the eviction order.
    idle_since: AtomicU64,
    /// Asked to close at the cap.
    evict: AtomicBool,
    /// The server is shutting down.
    stopping: AtomicBool,
    wake: Notify,
}

impl ConnState {
    fn new(base: Instant) -> Self {
        let now = base.elapsed().as_millis() as u64;
        ConnState {
            base,
            last_io: AtomicU64::new(now),
            write_stalled: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(now),
            evict: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }
    fn now(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }
    fn wrote(&self, r: &Poll<io::Result<usize>>) {
        match r {
            Poll::Pending => {
                let _ = self
                    .write_stalled
                    .compare_exchange(0, self.now() + 1, Relaxed, Relaxed);
            }
            Poll::Ready(Ok(n)) if *n > 0 => {
                self.write_stalled.store(0, Relaxed);
                self.last_io.store(self.now(), Relaxed);
            }
            Poll::Ready(_) => {}
        }
    }
}

/// The TCP stream, recording progress for the watchdog.
struct Watched {
    io: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            let s = &this.state;
            let now = s.now();
            s.last_io.store(now, Relaxed);
            if s.busy.load(Relaxed) == 0 {
                let _ = s.head_since.compare_exchange(0, now + 1, Relaxed, Relaxed);
            }
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        this.state.wrote(&r);
        r
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.state.wrote(&r);
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Marks a request in progress while alive.
struct Busy(Arc<ConnState>);

impl Busy {
    fn new(state: Arc<ConnState>) -> Self {
        state.busy.fetch_add(1, Relaxed);
        state.head_since.store(0, Relaxed);
        Busy(state)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.0.busy.fetch_sub(1, Relaxed) == 1 {
            let now = self.0.now();
            self.0.idle_since.store(now, Relaxed);
            self.0.last_io.store(now, Relaxed);
        }
    }
}

/// A response body that keeps its request counted as in progress until
/// hyper has taken its last frame.
struct Guarded {
    inner: Body,
    _busy: Busy,
}

impl HttpBody for Guarded {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The connections being served, for eviction at the cap.
#[derive(Default)]
struct Table {
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
}

impl Table {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }
    /// Asks the connection idle longest to close; false if none is idle.
    fn evict_one(&self) -> bool {
        let conns = self.lock();
        let victim = conns
            .values()
            .filter(|s| s.busy.load(Relaxed) == 0 && !s.evict.load(Relaxed))
            .min_by_key(|s| s.idle_since.load(Relaxed));
        match victim {
            Some(s) => {
                s.evict.store(true, Relaxed);
                s.wake.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Removes a connection from the table when its task ends.
struct Entry {
    table: Arc<Table>,
    id: u64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.table.lock().remove(&self.id);
    }
}

/// The timeouts of one connection.
#[derive(Clone, Copy)]
struct Timeouts {
    header: Duration,
    idle: Duration,
    write: Duration,
}

/// Resolves when the connection must close, and says why.
async fn watchdog(state: &ConnState, t: Timeouts) -> Close {
    let header = t.header.as_millis() as u64;
    let idle = t.idle.as_millis() as u64;
    let write = t.write.as_millis() as u64;
    let tick = (t.header.min(t.idle).min(t.write) / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = state.wake.notified() => {}
        }
        let now = state.now();
        let idle_now = state.busy.load(Relaxed) == 0;
        if state.evict.swap(false, Relaxed) && idle_now {
            return Close::Evicted;
        }
        let stalled = state.write_stalled.load(Relaxed);
        if stalled != 0 && now.saturating_sub(stalled - 1) >= write {
            return Close::WriteTimeout;
        }
        if !idle_now {
            continue;
        }
        let head = state.head_since.load(Relaxed);
        // At shutdown hyper closes idle connections and finishes requests
        // in progress; a half-read head need not be waited for.
        if head != 0 && stalled == 0 && state.stopping.load(Relaxed) {
            return Close::Shutdown;
        }
        if head != 0 {
            if now.saturating_sub(head - 1) >= header {
                return Close::HeaderTimeout;
            }
        } else if now.saturating_sub(state.last_io.load(Relaxed)) >= idle {
            return Close::Idle;
        }
    }
}

/// Serves one connection until it ends, times out or is evicted; on
/// `stop`, finishes the request in progress and closes.
async fn connection(
    stream: TcpStream,
    router: Router,
    state: Arc<ConnState>,
    t: Timeouts,
    stats: Arc<ConnStats>,
    mut stop: watch::Receiver<()>,
) {
    let io = TokioIo::new(Watched {
        io: stream,
        state: state.clone(),
    });
    let st = state.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let busy = Busy::new(st.clone());
        let mut router = router.clone();
        async move {
            let resp: Response<Body> = match tower_service::Service::call(&mut router, req).await {
                Ok(r) => r,
                Err(e) => match e {},
            };
            Ok::<_, std::convert::Infallible>(resp.map(|inner| Guarded { inner, _busy: busy }))
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(t.header.saturating_add(t.idle))
        .keep_alive(true)
        .max_buf_size(MAX_BUF);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let dog = watchdog(&state, t);
    tokio::pin!(dog);
    let mut stopping = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                match r {
                    Err(e) if e.is_timeout() => stats.closed(Close::HeaderTimeout),
                    Err(e) => tracing::debug!(error = %e, "connection ended with an error"),
                    Ok(()) => {}
                }
                return;
            }
            why = &mut dog => {
                tracing::debug!(reason = why.label(), "closing a connection");
                stats.closed(why);
                return;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
                state.stopping.store(true, Relaxed);
                state.wake.notify_one();
            }
        }
    }
}

/// Waits for a free slot at the cap, evicting the connection idle longest
/// (again every 100 ms while every connection is busy).
async fn make_room(sem: &Arc<Semaphore>, table: &Table) -> Option<OwnedSemaphorePermit> {
    loop {
        table.evict_one();
        match tokio::time::timeout(Duration::from_millis(100), sem.clone().acquire_owned()).await {
            Ok(Ok(p)) => return Some(p),
            Ok(Err(_)) => return None,
            Err(_) => continue,
        }
    }
}

/// Accept errors that concern one connection only: try the next at once.
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves `router` on `listener` within `limits` until `shutdown`
/// completes, then closes gracefully (see the module docs).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    stats: Arc<ConnStats>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let t = Timeouts {
        header: limits.header_timeout,
        idle: limits.idle_timeout,
        write: limits.write_timeout,
    };
    let sem = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let table = Arc::new(Table::default());
    let base = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(());
    let mut next_id = 0u64;
    let mut last_warning: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) if per_connection(&e) => continue,
                Err(e) => {
                    // Out of descriptors (EMFILE, ENFILE) or memory: wait
                    // a little rather than spin; the store's reserve is
                    // not ours to take.
                    stats.accept_errors.fetch_add(1, Relaxed);
                    if last_warning.is_none_or(|w| w.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(error = %e, "accepting a connection failed");
                        last_warning = Some(Instant::now());
                    }
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
                    }
                }
            },
        };
        let permit = match sem.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                stats.at_cap.fetch_add(1, Relaxed);
                tokio::select! {
                    _ = &mut shutdown => break,
                    p = make_room(&sem, &table) => match p {
                        Some(p) => p,
                        None => break,
                    },
                }
            }
        };
        stats.accepted.fetch_add(1, Relaxed);
        let state = Arc::new(ConnState::new(base));
        next_id += 1;
        table.lock().insert(next_id, state.clone());
        let entry = Entry {
            table: table.clone(),
            id: next_id,
        };
        let (router, stats, stop) = (router.clone(), stats.clone(), stop_rx.clone());
        tokio::spawn(async move {
            stats.open.fetch_add(1, Relaxed);
            connection(stream, router, state, t, stats.clone(), stop).await;
            stats.open.fetch_sub(1, Relaxed);
            drop(entry);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(());
    drop(stop_rx);
    stop_tx.closed().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(table: &Table, id: u64, idle_since: u64, busy: usize) -> Arc<ConnState> {
        let s = Arc::new(ConnState::new(Instant::now()));
        s.idle_since.store(idle_since, Relaxed);
        s.busy.store(busy, Relaxed);
        table.lock().insert(id, s.clone());
        s
    }

    #[test]
    fn eviction_takes_the_longest_idle_and_never_a_busy_connection() {
        let table = Table::default();
        let busy_old = conn(&table, 1, 5, 1);
        let idle_old = conn(&table, 2, 10, 0);
        let idle_new = conn(&table, 3, 20, 0);
        assert!(table.evict_one());
        assert!(idle_old.evict.load(Relaxed));
        assert!(!busy_old.evict.load(Relaxed) && !idle_new.evict.load(Relaxed));
        // One already asked to close is not asked again.
        assert!(table.evict_one());
        assert!(idle_new.evict.load(Relaxed));
        assert!(!table.evict_one(), "only a busy connection is left");
        assert!(!busy_old.evict.load(Relaxed));
    }

    #[test]
    fn the_watchdog_closes_idle_stalled_and_slow_head_connections() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let t = Timeouts {
            header: Duration::from_millis(80),
            idle: Duration::from_millis(200),
            write: Duration::from_millis(120),
        };
        rt.block_on(async {
            let idle = ConnState::new(Instant::now());
            let started = Instant::now();
            assert_eq!(watchdog(&idle, t).await, Close::Idle);
            assert!(started.elapsed() >= t.idle);

            let head = ConnState::new(Instant::now());
            head.head_since.store(head.now() + 1, Relaxed);
            let started = Instant::now();
            assert_eq!(watchdog(&head, t).await, Close::HeaderTimeout);
            assert!(started.elapsed() >= t.header && started.elapsed() < t.idle);

            // Busy: neither idle nor header timeout applies, but a stalled
            // write does.
            let stalled = Arc::new(ConnState::new(Instant::now()));
            let _busy = Busy::new(stalled.clone());
            stalled.wrote(&Poll::Pending);
            let started = Instant::now();
            assert_eq!(watchdog(&stalled, t).await, Close::WriteTimeout);
            assert!(started.elapsed() >= t.write);

            // A busy connection is not evicted; an idle one is at once.
            let evict = Arc::new(ConnState::new(Instant::now()));
            let busy = Busy::new(evict.clone());
            evict.evict.store(true, Relaxed);
            evict.wake.notify_one();
            let r = tokio::time::timeout(Duration::from_millis(100), watchdog(&evict, t)).await;
            assert!(r.is_err(), "a busy connection was closed: {r:?}");
            drop(busy);
            evict.evict.store(true, Relaxed);
            evict.wake.notify_one();
            let started = Instant::now();
            assert_eq!(watchdog(&evict, t).await, Close::Evicted);
            assert!(started.elapsed() < Duration::from_millis(50));
        });
    }
}
