//! A minimal HTTP/1.1 server for `/metrics` and `/healthz`: one request per connection, bounded
//! request size and time. Prometheus scrapes a few times a minute; a full HTTP stack would be most
//! of this process's code and dependencies for no gain.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

const MAX_REQUEST_HEAD: u64 = 8 * 1024;

/// An HTTP response: status, content type, body.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into().into_bytes(),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Serves forever (or until `stop()` returns true between connections), calling `route(path)`.
pub fn serve(listener: TcpListener, stop: impl Fn() -> bool, mut route: impl FnMut(&str) -> Reply) {
    listener.set_nonblocking(true).ok();
    while !stop() {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = handle(stream, &mut route);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn handle(stream: TcpStream, route: &mut impl FnMut(&str) -> Reply) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new((&stream).take(MAX_REQUEST_HEAD));
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip headers up to the blank line (bounded by MAX_REQUEST_HEAD).
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let reply = match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => route(target.split('?').next().unwrap_or("/")),
        (Some(_), Some(_)) => Reply::text(405, "only GET\n"),
        _ => Reply::text(400, "bad request\n"),
    };
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        reason(reply.status),
        reply.content_type,
        reply.body.len()
    );
    let mut w = &stream;
    w.write_all(head.as_bytes())?;
    w.write_all(&reply.body)?;
    w.flush()
}
