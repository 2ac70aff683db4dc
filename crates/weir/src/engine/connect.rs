//! Connecting the processes of a cluster: every process listens on its address, dials every
//! lower-indexed process with short retries, and says who it is with timely's handshake
//! (its index as a big-endian `u64`). The connected sockets are handed to timely's own
//! communication layer; this is connection set-up only, never a transport.
//!
//! timely's built-in set-up sleeps a whole second whenever a peer is not listening yet or
//! no connection arrived at the first poll; here retries wait milliseconds.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

use crate::Error;

/// Longest wait between two attempts to reach a peer (or to accept one).
const MAX_RETRY_WAIT: Duration = Duration::from_millis(20);

/// Environment variable through which the local launcher hands a child its listening
/// socket (an inherited file descriptor), so no port is found, released and bound again.
pub const LISTEN_FD_ENV: &str = "WEIR_LISTEN_FD";

/// The listening socket of process `me`: inherited from the launcher, or bound here.
fn listener(addresses: &[String], me: usize) -> Result<TcpListener, Error> {
    if let Ok(fd) = std::env::var(LISTEN_FD_ENV) {
        let fd: i32 = fd
            .parse()
            .map_err(|_| Error::Cluster(format!("{LISTEN_FD_ENV}={fd:?} is not a file descriptor number")))?;
        // SAFETY: the launcher passed this descriptor, a listening TCP socket, to this
        // process only; nothing else in the process owns it.
        let listener = unsafe { TcpListener::from_raw_fd(fd) };
        let bound = listener.local_addr().map(|a| a.to_string());
        if bound.as_deref().ok() != Some(addresses[me].as_str()) {
            return Err(Error::Cluster(format!(
                "{LISTEN_FD_ENV}={fd} is not a socket listening on {} (process {me}'s address): \
                 it is set by the local launcher (-p) only",
                addresses[me]
            )));
        }
        return Ok(listener);
    }
    TcpListener::bind(&addresses[me]).map_err(|e| {
        Error::Cluster(format!(
            "process {me} cannot listen on {}: {e}; is the address this host's, and the port free?",
            addresses[me]
        ))
    })
}

/// Connects process `me` to every other process of `addresses` before `deadline`; returns
/// one socket per process in process order, `None` at `me` (what timely's
/// `initialize_networking_from_sockets` takes).
pub(crate) fn connect_peers(
    addresses: &[String],
    me: usize,
    deadline: Instant,
) -> Result<Vec<Option<TcpStream>>, Error> {
    let listener = listener(addresses, me)?;
    let mut sockets: Vec<Option<TcpStream>> = (0..addresses.len()).map(|_| None).collect();
    for (peer, address) in addresses.iter().enumerate().take(me) {
        let socket = dial(address, deadline).map_err(|e| {
            Error::Cluster(format!(
                "process {me} could not reach process {peer} at {address}: {e}; start every process \
                 with the same -a list and each with its own -i"
            ))
        })?;
        let fail = |e: std::io::Error| Error::Cluster(format!("greeting process {peer} at {address}: {e}"));
        socket.set_nodelay(true).map_err(fail)?;
        (&socket).write_all(&(me as u64).to_be_bytes()).map_err(fail)?;
        sockets[peer] = Some(socket);
    }
    accept_higher(&listener, &mut sockets, me, deadline)?;
    Ok(sockets)
}

/// Connects to `address`, retrying every few milliseconds until `deadline`.
fn dial(address: &str, deadline: Instant) -> std::io::Result<TcpStream> {
    let mut wait = Duration::from_millis(1);
    loop {
        match TcpStream::connect(address) {
            Ok(socket) => return Ok(socket),
            Err(e) if Instant::now() + wait >= deadline => return Err(e),
            Err(_) => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(MAX_RETRY_WAIT);
            }
        }
    }
}

/// Accepts a connection from every process after `me`, each telling its index first.
fn accept_higher(
    listener: &TcpListener,
    sockets: &mut [Option<TcpStream>],
    me: usize,
    deadline: Instant,
) -> Result<(), Error> {
    let fail = |e: std::io::Error| Error::Cluster(format!("process {me} accepting peers: {e}"));
    listener.set_nonblocking(true).map_err(fail)?;
    let mut missing = sockets.len() - me - 1;
    let mut wait = Duration::from_millis(1);
    while missing > 0 {
        let socket = match listener.accept() {
            Ok((socket, _)) => socket,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let waiting: Vec<usize> = (me + 1..sockets.len())
                        .filter(|p| sockets[*p].is_none())
                        .collect();
                    return Err(Error::Cluster(format!(
                        "process {me} waited in vain for processes {waiting:?} to connect; start every \
                         process with the same -a list and each with its own -i"
                    )));
                }
                std::thread::sleep(wait);
                wait = (wait * 2).min(MAX_RETRY_WAIT);
                continue;
            }
            Err(e) => return Err(fail(e)),
        };
        let peer = read_greeting(&socket, deadline).map_err(fail)?;
        if peer <= me || peer >= sockets.len() || sockets[peer].is_some() {
            return Err(Error::Cluster(format!(
                "process {me} was greeted by a process claiming index {peer}: two processes share an -i, \
                 or the -a lists differ"
            )));
        }
        sockets[peer] = Some(socket);
        missing -= 1;
    }
    Ok(())
}

/// Reads a peer's index, then leaves the socket as timely needs it: blocking, no timeout.
fn read_greeting(socket: &TcpStream, deadline: Instant) -> std::io::Result<usize> {
    socket.set_nonblocking(false)?;
    socket.set_nodelay(true)?;
    let left = deadline.saturating_duration_since(Instant::now());
    socket.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
    let mut index = [0u8; 8];
    (&*socket).read_exact(&mut index)?;
    socket.set_read_timeout(None)?;
    Ok(u64::from_be_bytes(index) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free_addresses(count: usize) -> Vec<String> {
        let listeners: Vec<_> = (0..count)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        listeners
            .iter()
            .map(|l| l.local_addr().unwrap().to_string())
            .collect()
    }

    #[test]
    fn three_processes_connect_whatever_order_they_start_in() {
        let addresses = free_addresses(3);
        let deadline = Instant::now() + Duration::from_secs(10);
        // The highest index starts first: it must retry until the others listen.
        let handles: Vec<_> = (0..3)
            .rev()
            .map(|me| {
                let addresses = addresses.clone();
                std::thread::spawn(move || connect_peers(&addresses, me, deadline).unwrap())
            })
            .collect();
        for (handle, me) in handles.into_iter().zip((0..3).rev()) {
            let sockets = handle.join().unwrap();
            for (peer, socket) in sockets.iter().enumerate() {
                assert_eq!(socket.is_some(), peer != me, "process {me}, peer {peer}");
            }
        }
    }

    #[test]
    fn a_peer_that_never_comes_up_is_named() {
        let addresses = free_addresses(2);
        let deadline = Instant::now() + Duration::from_millis(200);
        let err = connect_peers(&addresses, 0, deadline).unwrap_err().to_string();
        assert!(err.contains("waited in vain for processes [1]"), "{err}");
        let err = connect_peers(&addresses, 1, Instant::now() + Duration::from_millis(200))
            .unwrap_err()
            .to_string();
        assert!(err.contains("could not reach process 0"), "{err}");
    }
}
