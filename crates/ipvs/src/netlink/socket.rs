//! The blocking IPVS client: a generic netlink socket bound to the "IPVS" family.
//!
//! Every call sends one request and reads its answer on the calling thread (the daemon runs
//! it from a blocking task). [`IpvsSocket::apply`] pipelines: it writes a batch of requests
//! in one `send` (the kernel executes each message of the datagram in turn and queues one
//! acknowledgement per message), then reads the acknowledgements, matched by sequence number.
//! The batch is sized so that its acknowledgements fit in the socket's receive buffer.

use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_sys::protocols::NETLINK_GENERIC;
use netlink_sys::{Socket, SocketAddr};

use crate::types::{Dest, Service, ServiceKey, Stats, SyncDaemon, SyncState, Table, Timeouts};

use super::config::{parse_info, parse_timeouts, Info};
use super::consts::{cmd, GENL_NAME};
use super::daemon::parse_daemon_msg;
use super::dest::{parse_dest_msg, DestCounters};
use super::error::{Error, MODPROBE_HINT};
use super::family::{encode_get_family, parse_get_family_reply, FamilyReply};
use super::message::{messages, Reply};
use super::op::Op;
use super::request::Request;
use super::service::parse_service_msg;

/// Largest datagram the kernel sends us: dump skbs are capped at 32 KiB, other answers are
/// smaller. A bigger one is reported as truncated, never silently cut.
const RX_CAP: usize = 128 * 1024;
/// Receive buffer asked for (the kernel may cap it).
const RX_BUF_WANTED: usize = 4 * 1024 * 1024;
/// What one queued acknowledgement costs in the receive buffer (skb truesize), rounded up.
const ACK_TRUESIZE: usize = 1024;
/// Bounds on the number of requests sent before reading their acknowledgements.
const MIN_BATCH: usize = 16;
const MAX_BATCH: usize = 512;
/// How long to wait for the kernel before giving up.
const RECV_TIMEOUT: Duration = Duration::from_secs(30);

/// A stored answer: command and first-level attributes.
type Answer = (u8, Vec<u8>);

/// Services, their counters, and their destinations with counters: what `ipvsadm -L` shows.
pub type Snapshot = Vec<(Service, Stats, Vec<(Dest, DestCounters, Stats)>)>;

pub struct IpvsSocket {
    sock: Socket,
    family: u16,
    seq: u32,
    rx: Vec<u8>,
    batch: usize,
}

impl std::fmt::Debug for IpvsSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpvsSocket")
            .field("fd", &self.sock.as_raw_fd())
            .field("family", &self.family)
            .field("batch", &self.batch)
            .finish()
    }
}

fn set_sockopt_int(sock: &Socket, opt: libc::c_int, value: libc::c_int) -> bool {
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a live local.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            &value as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

fn set_recv_timeout(sock: &Socket, d: Duration) -> std::io::Result<()> {
    let tv = libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: setsockopt reads `size_of::<timeval>()` bytes from a live local.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl IpvsSocket {
    /// Opens a generic netlink socket and resolves the "IPVS" family.
    /// `Error::NotAvailable` when the kernel has no IPVS (module not loaded or not built).
    pub fn open() -> Result<IpvsSocket, Error> {
        let mut s = IpvsSocket::connect()?;
        s.family = match s.resolve(GENL_NAME)? {
            FamilyReply::Id(id) => id,
            FamilyReply::Errno(libc::ENOENT) => {
                return Err(Error::NotAvailable {
                    hint: MODPROBE_HINT.to_owned(),
                })
            }
            FamilyReply::Errno(errno) => {
                return Err(Error::Kernel {
                    errno,
                    message: format!(
                        "cannot look up the generic netlink family \"IPVS\": {} ({})",
                        std::io::Error::from_raw_os_error(errno),
                        super::error::errno_name(errno)
                    ),
                })
            }
        };
        Ok(s)
    }

    /// A connected generic netlink socket, family not yet resolved.
    fn connect() -> Result<IpvsSocket, Error> {
        let mut sock = Socket::new(NETLINK_GENERIC)
            .map_err(|e| Error::io("cannot open a generic netlink socket", e))?;
        sock.bind_auto()
            .map_err(|e| Error::io("cannot bind the generic netlink socket", e))?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(|e| Error::io("cannot connect the generic netlink socket", e))?;
        // Best effort: errors echo only the request's header; the kernel's error text.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_ext_ack(true);
        let wanted = RX_BUF_WANTED as libc::c_int;
        if !set_sockopt_int(&sock, libc::SO_RCVBUFFORCE, wanted) {
            let _ = set_sockopt_int(&sock, libc::SO_RCVBUF, wanted);
        }
        set_recv_timeout(&sock, RECV_TIMEOUT)
            .map_err(|e| Error::io("cannot set the netlink receive timeout", e))?;
        let rcvbuf = sock.get_rx_buf_sz().unwrap_or(212_992);
        let batch = (rcvbuf / ACK_TRUESIZE).clamp(MIN_BATCH, MAX_BATCH);
        Ok(IpvsSocket {
            sock,
            family: 0,
            seq: 0,
            rx: Vec::with_capacity(RX_CAP),
            batch,
        })
    }

    /// The IPVS family id this kernel assigned.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn send(&self, buf: &[u8]) -> Result<(), Error> {
        loop {
            match self.sock.send(buf, 0) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("cannot send to the kernel (netlink)", e)),
            }
        }
    }

    /// Reads one datagram into `self.rx`.
    fn recv(&mut self) -> Result<(), Error> {
        loop {
            self.rx.clear();
            if self.rx.capacity() < RX_CAP {
                self.rx.reserve(RX_CAP);
            }
            let cap = self.rx.capacity();
            match self.sock.recv(&mut self.rx, libc::MSG_TRUNC) {
                Ok(n) if n > cap => {
                    return Err(Error::Decode(super::error::DecodeError::new(format!(
                        "a datagram of {n} bytes did not fit in {cap} bytes"
                    ))))
                }
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    return Err(Error::io(
                        format!(
                            "no answer from the kernel within {}s",
                            RECV_TIMEOUT.as_secs()
                        ),
                        e,
                    ))
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Err(Error::io(
                        "the netlink receive buffer overflowed: answers from the kernel were lost",
                        e,
                    ))
                }
                Err(e) => return Err(Error::io("cannot receive from the kernel (netlink)", e)),
            }
        }
    }

    /// CTRL_CMD_GETFAMILY for `name`.
    fn resolve(&mut self, name: &str) -> Result<FamilyReply, Error> {
        let seq = self.next_seq();
        self.send(&encode_get_family(name, seq))?;
        loop {
            self.recv()?;
            match messages(&self.rx).next().transpose()? {
                Some(m) if m.seq == seq => return Ok(parse_get_family_reply(&self.rx)?),
                _ => continue,
            }
        }
    }

    /// Sends `req` and collects its answers until the acknowledgement (or NLMSG_DONE).
    fn exchange(&mut self, req: &Request<'_>) -> Result<Vec<Answer>, Error> {
        let seq = self.next_seq();
        let msg = req.encode(self.family, seq)?;
        self.send(&msg)?;
        let mut out = Vec::new();
        loop {
            self.recv()?;
            let mut done = false;
            for m in messages(&self.rx) {
                let m = m?;
                if m.seq != seq {
                    continue; // left over from an earlier, abandoned request
                }
                match m.reply(self.family)? {
                    Reply::Data { cmd, attrs } => out.push((cmd, attrs.to_vec())),
                    Reply::Ack => done = true,
                    Reply::Done { errno: 0 } => done = true,
                    Reply::Done { errno } => return Err(Error::from_kernel(errno, req, None)),
                    Reply::Error { errno, ext_msg } => {
                        return Err(Error::from_kernel(errno, req, ext_msg.as_deref()))
                    }
                    Reply::Other(_) => {}
                }
            }
            if done {
                return Ok(out);
            }
        }
    }

    fn exec(&mut self, req: Request<'_>) -> Result<(), Error> {
        self.exchange(&req).map(|_| ())
    }

    /// IPVS version and connection table size (GET_INFO).
    pub fn info(&mut self) -> Result<Info, Error> {
        let answers = self.exchange(&Request::GetInfo)?;
        let (_, attrs) = answers
            .iter()
            .find(|(c, _)| *c == cmd::SET_INFO)
            .ok_or_else(|| Error::Decode(super::error::DecodeError::new("no GET_INFO reply")))?;
        Ok(parse_info(attrs)?)
    }

    /// Every service with its counters (a GET_SERVICE dump), in the kernel's order.
    pub fn services(&mut self) -> Result<Vec<(Service, Stats)>, Error> {
        let answers = self.exchange(&Request::GetServices)?;
        answers
            .iter()
            .filter(|(c, _)| *c == cmd::NEW_SERVICE)
            .map(|(_, a)| parse_service_msg(a).map_err(Error::from))
            .collect()
    }

    /// One service, or `None` when the kernel has no such service.
    pub fn service(&mut self, key: &ServiceKey) -> Result<Option<(Service, Stats)>, Error> {
        match self.exchange(&Request::GetService(key)) {
            Ok(answers) => answers
                .iter()
                .find(|(c, _)| *c == cmd::NEW_SERVICE)
                .map(|(_, a)| parse_service_msg(a).map_err(Error::from))
                .transpose(),
            Err(Error::Kernel {
                errno: libc::ESRCH, ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The destinations of a service (a GET_DEST dump). The kernel answers an empty dump for
    /// a service that does not exist.
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<(Dest, DestCounters, Stats)>, Error> {
        let answers = self.exchange(&Request::GetDests(key))?;
        answers
            .iter()
            .filter(|(c, _)| *c == cmd::NEW_DEST)
            .map(|(_, a)| parse_dest_msg(a, key.family()).map_err(Error::from))
            .collect()
    }

    /// Services and destinations with their counters.
    pub fn snapshot(&mut self) -> Result<Snapshot, Error> {
        let services = self.services()?;
        let mut out = Vec::with_capacity(services.len());
        for (svc, stats) in services {
            let dests = self.dests(&svc.key)?;
            out.push((svc, stats, dests));
        }
        Ok(out)
    }

    /// The kernel's table, without counters.
    pub fn table(&mut self) -> Result<Table, Error> {
        let mut table = Table::new();
        for (svc, _, dests) in self.snapshot()? {
            let dests = dests.into_iter().map(|(d, _, _)| (d.key(), d)).collect();
            table.insert(svc.key, (svc, dests));
        }
        Ok(table)
    }

    pub fn add_service(&mut self, s: &Service) -> Result<(), Error> {
        self.exec(Request::NewService(s))
    }

    pub fn edit_service(&mut self, s: &Service) -> Result<(), Error> {
        self.exec(Request::SetService(s))
    }

    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), Error> {
        self.exec(Request::DelService(key))
    }

    pub fn add_dest(&mut self, key: &ServiceKey, d: &Dest) -> Result<(), Error> {
        self.exec(Request::NewDest(key, d))
    }

    pub fn edit_dest(&mut self, key: &ServiceKey, d: &Dest) -> Result<(), Error> {
        self.exec(Request::SetDest(key, d))
    }

    pub fn del_dest(
        &mut self,
        key: &ServiceKey,
        addr: std::net::IpAddr,
        port: u16,
    ) -> Result<(), Error> {
        self.exec(Request::DelDest(key, addr, port))
    }

    /// The tcp / tcpfin / udp connection timeouts (GET_CONFIG).
    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        let answers = self.exchange(&Request::GetConfig)?;
        let (_, attrs) = answers
            .iter()
            .find(|(c, _)| *c == cmd::SET_CONFIG)
            .ok_or_else(|| Error::Decode(super::error::DecodeError::new("no GET_CONFIG reply")))?;
        Ok(parse_timeouts(attrs)?)
    }

    /// Sets the timeouts (SET_CONFIG); a 0 leaves that timeout unchanged.
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), Error> {
        self.exec(Request::SetConfig(t))
    }

    /// The running sync daemons (a GET_DAEMON dump): at most a master and a backup.
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, Error> {
        let answers = self.exchange(&Request::GetDaemons)?;
        answers
            .iter()
            .filter(|(c, _)| *c == cmd::NEW_DAEMON)
            .map(|(_, a)| parse_daemon_msg(a).map_err(Error::from))
            .collect()
    }

    pub fn add_daemon(&mut self, d: &SyncDaemon) -> Result<(), Error> {
        self.exec(Request::NewDaemon(d))
    }

    pub fn del_daemon(&mut self, state: SyncState) -> Result<(), Error> {
        self.exec(Request::DelDaemon(state))
    }

    /// Zeroes the counters of one service, or of every service (`None`).
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), Error> {
        self.exec(Request::Zero(key))
    }

    /// Deletes every service and destination.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.exec(Request::Flush)
    }

    /// Applies `ops` in order, pipelined. `Ok(n)`: all `n` succeeded. `Err((i, e))`: `ops[i]`
    /// is the first that failed (or could not be encoded); the ops before it succeeded.
    ///
    /// The kernel executes every message of a batch even after one fails, so ops after `i`
    /// in the same batch (at most [`IpvsSocket::batch_size`]) may have been applied too:
    /// re-read the table before planning again.
    pub fn apply(&mut self, ops: &[Op]) -> Result<usize, (usize, Error)> {
        let mut start = 0;
        let mut buf = Vec::new();
        while start < ops.len() {
            let end = (start + self.batch).min(ops.len());
            buf.clear();
            let first_seq = self.seq.wrapping_add(1);
            let mut encode_err = None;
            let mut sent = 0;
            for (i, op) in ops[start..end].iter().enumerate() {
                let seq = self.next_seq();
                match op.request().encode(self.family, seq) {
                    Ok(m) => {
                        buf.extend_from_slice(&m);
                        sent += 1;
                    }
                    Err(e) => {
                        encode_err = Some((start + i, e));
                        break;
                    }
                }
            }
            if sent > 0 {
                self.send(&buf).map_err(|e| (start, e))?;
                self.collect_acks(ops, start, sent, first_seq)?;
            }
            if let Some(err) = encode_err {
                return Err(err);
            }
            start += sent;
        }
        Ok(ops.len())
    }

    /// Reads the acknowledgements of `ops[start..start + n]`, sent with sequence numbers
    /// `first_seq..`. Returns the first failure (by op index).
    fn collect_acks(
        &mut self,
        ops: &[Op],
        start: usize,
        n: usize,
        first_seq: u32,
    ) -> Result<(), (usize, Error)> {
        let mut acks = Acks::new(first_seq, n);
        while !acks.done() {
            if let Err(e) = self.recv() {
                // Known: everything before the first unacknowledged op succeeded.
                let unacked = acks.first_unacked();
                return Err(match acks.first_err {
                    Some((k, errno, ext)) if k < unacked => (
                        start + k,
                        Error::from_kernel(errno, &ops[start + k].request(), ext.as_deref()),
                    ),
                    _ => (start + unacked, e),
                });
            }
            acks.absorb(&self.rx, self.family)
                .map_err(|(k, e)| (start + k, Error::from(e)))?;
        }
        match acks.first_err {
            Some((k, errno, ext)) => Err((
                start + k,
                Error::from_kernel(errno, &ops[start + k].request(), ext.as_deref()),
            )),
            None => Ok(()),
        }
    }

    /// How many requests `apply` sends before reading their acknowledgements.
    pub fn batch_size(&self) -> usize {
        self.batch
    }
}

/// The acknowledgements of a batch of requests sent with consecutive sequence numbers.
#[derive(Debug)]
struct Acks {
    first_seq: u32,
    acked: Vec<bool>,
    left: usize,
    /// The lowest-index failure: (index in the batch, errno, extended-ack text).
    first_err: Option<(usize, i32, Option<String>)>,
}

impl Acks {
    fn new(first_seq: u32, n: usize) -> Acks {
        Acks {
            first_seq,
            acked: vec![false; n],
            left: n,
            first_err: None,
        }
    }

    fn done(&self) -> bool {
        self.left == 0
    }

    fn first_unacked(&self) -> usize {
        self.acked
            .iter()
            .position(|a| !a)
            .unwrap_or(self.acked.len())
    }

    /// Takes the acknowledgements of one datagram. Messages of other sequence numbers
    /// (stale answers), repeated acknowledgements and non-acknowledgements are skipped.
    fn absorb(
        &mut self,
        buf: &[u8],
        family: u16,
    ) -> Result<(), (usize, super::error::DecodeError)> {
        for m in messages(buf) {
            let m = m.map_err(|e| (self.first_unacked(), e))?;
            let k = m.seq.wrapping_sub(self.first_seq) as usize;
            if k >= self.acked.len() || self.acked[k] {
                continue;
            }
            let err = match m.reply(family).map_err(|e| (k, e))? {
                Reply::Ack => None,
                Reply::Error { errno, ext_msg } => Some((errno, ext_msg)),
                Reply::Data { .. } | Reply::Done { .. } | Reply::Other(_) => continue,
            };
            self.acked[k] = true;
            self.left -= 1;
            if let Some((errno, ext)) = err {
                if self.first_err.as_ref().is_none_or(|(i, ..)| k < *i) {
                    self.first_err = Some((k, errno, ext));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's kernel has no IPVS: `open` must say so and how to fix it. On a kernel
    /// with IPVS, `open` and `info` must work.
    #[test]
    fn open_reports_missing_ipvs_or_works() {
        match IpvsSocket::open() {
            Ok(mut s) => {
                let info = s.info().expect("GET_INFO on a kernel with IPVS");
                assert!(info.version > 0);
            }
            Err(Error::NotAvailable { hint }) => {
                eprintln!("IPVS not available here (as expected on kernels without it): {hint}");
                assert_eq!(hint, "load the kernel module: modprobe ip_vs");
                let e = Error::NotAvailable { hint };
                assert!(e.to_string().contains("modprobe ip_vs"), "{e}");
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    /// The family lookup against the real kernel: nlctrl has the fixed id 0x10; a name that
    /// no kernel registers gives ENOENT.
    #[test]
    fn resolves_generic_netlink_families() {
        let mut s = IpvsSocket::connect().expect("generic netlink socket");
        assert_eq!(s.resolve("nlctrl").unwrap(), FamilyReply::Id(0x10));
        assert_eq!(
            s.resolve("no-such-family").unwrap(),
            FamilyReply::Errno(libc::ENOENT)
        );
        assert!(s.batch_size() >= MIN_BATCH && s.batch_size() <= MAX_BATCH);
    }

    fn ack(seq: u32, errno: i32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&36u32.to_ne_bytes()); // 16 + 4 + 16 (capped echo)
        b.extend_from_slice(&super::super::consts::NLMSG_ERROR.to_ne_bytes());
        b.extend_from_slice(&0x100u16.to_ne_bytes()); // NLM_F_CAPPED
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&(-errno).to_ne_bytes());
        b.extend_from_slice(&[0; 16]);
        b
    }

    #[test]
    fn acks_out_of_order_duplicates_and_stale() {
        let mut a = Acks::new(u32::MAX - 1, 4); // sequence numbers wrap: MAX-1, MAX, 0, 1
        a.absorb(&ack(1, 0), 0x25).unwrap();
        a.absorb(&ack(5, 0), 0x25).unwrap(); // not ours
        a.absorb(&[ack(0, libc::EEXIST), ack(0, 0)].concat(), 0x25)
            .unwrap(); // dup ignored
        assert!(!a.done());
        assert_eq!(a.first_unacked(), 0);
        a.absorb(
            &[ack(u32::MAX, libc::ENOENT), ack(u32::MAX - 1, 0)].concat(),
            0x25,
        )
        .unwrap();
        assert!(a.done());
        // Index 1 (seq MAX) failed before index 2 (seq 0).
        assert_eq!(a.first_err, Some((1, libc::ENOENT, None)));
    }

    /// Pipelining against the real kernel: one datagram carrying many requests gets one
    /// acknowledgement per request, matched by sequence number (nlctrl answers ENOENT for
    /// unknown family names, whatever the kernel's IPVS support).
    #[test]
    fn kernel_acknowledges_every_message_of_a_batch() {
        let mut s = IpvsSocket::connect().expect("generic netlink socket");
        let n = 48;
        let first = s.seq.wrapping_add(1);
        let mut batch = Vec::new();
        for i in 0..n {
            let seq = s.next_seq();
            let mut m = encode_get_family(&format!("lvsd-none-{i}"), seq);
            m[6..8].copy_from_slice(
                &(super::super::consts::NLM_F_REQUEST | super::super::consts::NLM_F_ACK)
                    .to_ne_bytes(),
            );
            batch.extend_from_slice(&m);
        }
        s.send(&batch).unwrap();
        let mut acks = Acks::new(first, n);
        while !acks.done() {
            s.recv().unwrap();
            acks.absorb(&s.rx, super::super::family::GENL_ID_CTRL)
                .unwrap();
        }
        assert_eq!(
            acks.first_err.as_ref().map(|e| (e.0, e.1)),
            Some((0, libc::ENOENT))
        );
        assert_eq!(acks.first_unacked(), n);
    }
}
