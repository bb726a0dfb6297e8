//! A loopback HTTP/1.1 backend for the `http` workload, on std's `TcpListener` alone.
//!
//! It behaves like a real service with a fixed number of request handlers: one thread accepts
//! connections and puts them in a queue; `capacity` handler threads take them one at a time,
//! read the request, spend the service time (a sleep: the backend waiting on its own disk or
//! database) and answer. Requests past `capacity` wait in the queue, so a request's latency is
//! its wait plus the service time, and the backend serves at most `capacity / service`
//! requests per second however many clients call it:
//!
//! ```text
//! client ── connect ──> acceptor ── queue ──> handler 1 .. handler `capacity`
//!                                    (wait)    read request, sleep `service`, answer, close
//! ```
//!
//! The protocol is the smallest useful part of HTTP/1.1: `GET /bytes/N` answers `200 OK` with
//! an `N`-byte body ([`body`]), any other path `404`, another method `405`, a request that does
//! not parse `400`. Every answer carries `Content-Length` and `Connection: close`, and the
//! backend closes the connection after answering, so the `TIME_WAIT` state of each connection
//! stays on the backend's side and a client's ports are free again at once.
//!
//! Dropping the [`Backend`] stops it cleanly: the acceptor is woken and exits, the handlers
//! finish the requests already queued and exit, and every thread is joined.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The largest body a request may ask for.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The largest request head (request line and headers) the backend reads.
const MAX_HEAD: usize = 8 * 1024;

/// How long either side waits for the other before giving up on a connection.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// How a [`Backend`] behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackendConfig {
    /// Time spent on each successful request, by sleeping.
    pub service: Duration,
    /// Requests served at once; later ones wait in the queue.
    pub capacity: usize,
}

impl Default for BackendConfig {
    /// 2 ms per request, 8 at once: at most 4000 requests per second.
    fn default() -> Self {
        BackendConfig {
            service: Duration::from_millis(2),
            capacity: 8,
        }
    }
}

impl fmt::Display for BackendConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ms service, {} at once",
            self.service.as_secs_f64() * 1e3,
            self.capacity
        )
    }
}

/// A running loopback backend; dropping it stops it and joins its threads.
#[derive(Debug)]
pub struct Backend {
    addr: SocketAddr,
    config: BackendConfig,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Backend {
    /// Starts a backend on `127.0.0.1` at a port the OS picks.
    ///
    /// Fails if `capacity` is 0, or if the socket or a thread cannot be created.
    pub fn start(config: BackendConfig) -> io::Result<Backend> {
        if config.capacity == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a backend needs a capacity of at least 1",
            ));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut backend = Backend {
            addr,
            config,
            stop: stop.clone(),
            threads: Vec::with_capacity(config.capacity + 1),
        };
        // Declared after `backend`, so that on an error below the queue's sender is dropped
        // first and the handlers started so far exit before `backend`'s drop joins them.
        let (queue, requests) = mpsc::channel::<TcpStream>();
        let requests = Arc::new(Mutex::new(requests));
        for i in 0..config.capacity {
            let requests = requests.clone();
            let service = config.service;
            backend.threads.push(
                std::thread::Builder::new()
                    .name(format!("backend-handler-{i}"))
                    .spawn(move || handle(&requests, service))?,
            );
        }
        drop(requests);
        backend.threads.push(
            std::thread::Builder::new()
                .name("backend-acceptor".into())
                .spawn(move || accept(&listener, &queue, &stop))?,
        );
        Ok(backend)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How it behaves.
    pub fn config(&self) -> BackendConfig {
        self.config
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // ORDERING: Release pairs with the Acquire in `accept`, which reads the flag after
        // the connection below wakes it.
        self.stop.store(true, Ordering::Release);
        // Wake the acceptor out of `accept` with one last connection. If the acceptor never
        // started (an error in `start`), the handlers exit once the queue's sender is gone.
        let _ = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The acceptor: queues every connection until told to stop; dropping `queue` on the way out
/// tells the handlers to exit once the queue is empty.
fn accept(listener: &TcpListener, queue: &mpsc::Sender<TcpStream>, stop: &AtomicBool) {
    for conn in listener.incoming() {
        // ORDERING: Acquire pairs with the Release in `Backend::drop`.
        if stop.load(Ordering::Acquire) {
            break;
        }
        match conn {
            Ok(stream) => {
                if queue.send(stream).is_err() {
                    break;
                }
            }
            // A connection reset before it was accepted, or out of file descriptors for a
            // moment: the client sees the error, the backend goes on.
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// A handler: serves queued connections one at a time until the queue closes.
fn handle(requests: &Mutex<mpsc::Receiver<TcpStream>>, service: Duration) {
    loop {
        // The lock is held only while waiting for the next connection, never while serving.
        let next = requests.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match next {
            Ok(stream) => serve(stream, service),
            Err(mpsc::RecvError) => return,
        }
    }
}

/// Reads one request from `stream`, answers it and closes the connection.
fn serve(mut stream: TcpStream, service: Duration) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(head) = read_head(&mut stream) else {
        return;
    };
    let (status, body) = route(&head);
    if status == 200 {
        std::thread::sleep(service);
    }
    let _ = stream.write_all(&response(status, &body));
}

/// Reads up to the blank line that ends a request head.
fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    while find_blank_line(&head).is_none() {
        if head.len() > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// Where the `\r\n\r\n` that ends a head starts.
fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The status and body that answer a request head.
fn route(head: &str) -> (u16, Vec<u8>) {
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return (400, Vec::new());
    };
    if !version.starts_with("HTTP/1.") {
        return (400, Vec::new());
    }
    if method != "GET" {
        return (405, Vec::new());
    }
    match target.strip_prefix("/bytes/").map(str::parse::<usize>) {
        Some(Ok(len)) if len <= MAX_BODY => (200, body(len)),
        _ => (404, Vec::new()),
    }
}

/// The body of `GET /bytes/{len}`: `len` bytes cycling through `a..=z`.
pub fn body(len: usize) -> Vec<u8> {
    (b'a'..=b'z').cycle().take(len).collect()
}

fn response(status: u16, body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A response as a client read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body, checked against `Content-Length`.
    pub body: Vec<u8>,
}

/// The client side: opens a connection to `addr`, sends `GET {path}` and reads the whole
/// response, up to the backend's close. Fails on an IO error, a response that does not parse,
/// or a body whose length differs from its `Content-Length`.
pub fn get(addr: SocketAddr, path: &str) -> Result<Response, String> {
    send(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}

/// Sends `request` (a whole request head) on a new connection and reads the response.
pub fn send(addr: SocketAddr, request: &str) -> Result<Response, String> {
    let io = |e: io::Error| format!("request to the backend at {addr} failed: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(io)?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    stream.set_nodelay(true).map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut raw = Vec::with_capacity(1024);
    // Read to the end: the backend closes first, so its side keeps the TIME_WAIT.
    stream.read_to_end(&mut raw).map_err(io)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let end = find_blank_line(raw).ok_or("the response has no complete head")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "the response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line `{status_line}`"))?;
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .ok_or("the response has no Content-Length")?;
    let body = &raw[end + 4..];
    if body.len() != length {
        return Err(format!(
            "the body has {} bytes, Content-Length says {length}",
            body.len()
        ));
    }
    Ok(Response {
        status,
        body: body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::time::Instant;

    fn quick() -> Backend {
        Backend::start(BackendConfig {
            service: Duration::from_millis(1),
            capacity: 2,
        })
        .expect("the backend starts")
    }

    #[test]
    fn serves_the_asked_length() {
        let backend = quick();
        for len in [0, 1, 26, 5000, 100_000] {
            let r = get(backend.addr(), &format!("/bytes/{len}")).unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(r.body.len(), len);
            assert_eq!(r.body, body(len));
        }
    }

    #[test]
    fn bad_requests_get_error_statuses() {
        let backend = quick();
        let addr = backend.addr();
        assert_eq!(get(addr, "/nothing").unwrap().status, 404);
        assert_eq!(get(addr, "/bytes/ten").unwrap().status, 404);
        let too_big = format!("/bytes/{}", MAX_BODY + 1);
        assert_eq!(get(addr, &too_big).unwrap().status, 404);
        let post = send(addr, "POST /bytes/1 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(post.status, 405);
        assert_eq!(send(addr, "hello\r\n\r\n").unwrap().status, 400);
        assert_eq!(
            send(addr, "GET /bytes/1 SPDY/3\r\n\r\n").unwrap().status,
            400
        );
        // The backend still serves after the bad ones.
        assert_eq!(get(addr, "/bytes/3").unwrap().body, b"abc");
    }

    #[test]
    fn responses_are_checked() {
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab")
                .unwrap_err()
                .contains("2 bytes")
        );
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n\r\nab").is_err());
        assert!(parse_response(b"junk").is_err());
        let ok = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nab").unwrap();
        assert_eq!((ok.status, ok.body.as_slice()), (200, &b"ab"[..]));
    }

    /// Sends `n` requests at once and returns each one's latency.
    fn burst(backend: &Backend, n: usize) -> Vec<Duration> {
        let barrier = Arc::new(Barrier::new(n));
        let addr = backend.addr();
        let threads: Vec<_> = (0..n)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    let t = Instant::now();
                    let r = get(addr, "/bytes/100").unwrap();
                    assert_eq!(r.status, 200);
                    t.elapsed()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    }

    #[test]
    fn latency_grows_past_capacity() {
        let service = Duration::from_millis(30);
        let backend = Backend::start(BackendConfig {
            service,
            capacity: 2,
        })
        .unwrap();
        // Within capacity every request takes about the service time, and never less.
        let within = burst(&backend, 2);
        assert!(within.iter().all(|l| *l >= service), "{within:?}");
        // Six requests on two handlers go in three waves: the last waits for two services.
        let past = burst(&backend, 6);
        let slowest = past.iter().max().unwrap();
        assert!(
            *slowest >= service * 5 / 2,
            "slowest {slowest:?} of {past:?} with 2 slots of {service:?}"
        );
    }

    #[test]
    fn drop_stops_the_backend() {
        let backend = quick();
        let addr = backend.addr();
        assert_eq!(get(addr, "/bytes/1").unwrap().status, 200);
        let (done, dropped) = mpsc::channel();
        std::thread::spawn(move || {
            drop(backend);
            let _ = done.send(());
        });
        dropped
            .recv_timeout(Duration::from_secs(30))
            .expect("dropping the backend joins its threads within 30 s");
        assert!(get(addr, "/bytes/1").is_err(), "nothing listens any more");
    }

    #[test]
    fn zero_capacity_is_refused() {
        let e = Backend::start(BackendConfig {
            service: Duration::ZERO,
            capacity: 0,
        })
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
