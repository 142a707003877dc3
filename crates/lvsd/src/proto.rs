//! The control socket's protocol: one request line, one JSON reply, typed on both sides (the
//! daemon serialises these structs, `lvsd status` / `lvsd reload` deserialise the same ones),
//! so a renamed field is a compile error, not a `-` on the screen.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Counters by name (VRRP statistics, drops by reason).
pub type Counters = BTreeMap<String, u64>;

/// The control protocol's version: a request says which it speaks (`"v": 1`); another
/// version gets an error naming this one.
pub const VERSION: u32 = 1;

/// The longest request line the daemon reads (a longer one is refused, unread).
pub const MAX_REQUEST: usize = 64 * 1024;

/// One request: a JSON object on one line, `{"v":1,"request":"rs","action":"drain",...}`.
/// (The words `status`, `reload`, `reload --dry-run` and `events` alone are also read, as
/// before issue 17.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u32,
    #[serde(flatten)]
    pub request: Request,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Read: the whole status.
    Status,
    /// Read: every event as it happens.
    Events,
    /// Change: reload the configuration (validated first).
    Reload {
        #[serde(default)]
        dry_run: bool,
    },
    /// Change: drain, disable or enable a real server.
    Rs {
        action: crate::run::RsAction,
        /// The virtual server's words as written (`["10.0.0.100:80", "tcp"]`, `["fwmark", "3"]`).
        virtual_server: Vec<String>,
        real_server: String,
        /// A drain's longest wait, in seconds.
        #[serde(default)]
        timeout_s: Option<f64>,
    },
    /// Change: demote, promote or release VRRP instances (None: every instance).
    Vrrp {
        action: VrrpAction,
        instance: Option<String>,
    },
}

impl Request {
    /// Whether the request changes the daemon (root or the control group only).
    pub fn changes(&self) -> bool {
        !matches!(self, Request::Status | Request::Events)
    }

    /// Reads one request line: JSON, or one of the words older clients send.
    pub fn parse(line: &str) -> Result<Request, String> {
        let line = line.trim();
        match line {
            "status" => return Ok(Request::Status),
            "events" => return Ok(Request::Events),
            "reload" => return Ok(Request::Reload { dry_run: false }),
            "reload --dry-run" => return Ok(Request::Reload { dry_run: true }),
            _ => {}
        }
        if !line.starts_with('{') {
            let shown: String = line.chars().take(40).collect();
            return Err(format!(
                "unknown request `{shown}`: send a JSON object (`{{\"v\":{VERSION},\"request\":\"status\"}}`) or status, reload, reload --dry-run, events"
            ));
        }
        // the version first: a newer client's request is refused for its version, not for
        // a field this daemon does not know
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("the request is not JSON: {e}"))?;
        match v.get("v").and_then(|v| v.as_u64()) {
            Some(n) if n == u64::from(VERSION) => {}
            Some(n) => {
                return Err(format!(
                    "protocol version {n} is not spoken here (this lvsd speaks {VERSION})"
                ))
            }
            None => return Err(format!("the request has no version (`\"v\":{VERSION}`)")),
        }
        serde_json::from_value::<Envelope>(v)
            .map(|e| e.request)
            .map_err(|e| format!("bad request: {e}"))
    }
}

/// What an operator asks of VRRP instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VrrpAction {
    Demote,
    Promote,
    Release,
}

/// A change's reply: what changed, one line each.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChangeReply {
    pub changed: Vec<String>,
}

/// `status`: the VRRP engine's part and the health task's part in one reply.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    #[serde(flatten)]
    pub vrrp: VrrpStatus,
    #[serde(flatten)]
    pub lvs: LvsStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VrrpStatus {
    pub uptime_us: u64,
    pub instances: Vec<InstanceStatus>,
    pub sync_groups: Vec<GroupStatus>,
    pub router_drops: Counters,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    pub state: String,
    pub reason: String,
    pub vrid: u8,
    pub version: u8,
    pub interface: Option<String>,
    pub priority: u8,
    pub effective_priority: u8,
    pub source: Option<IpAddr>,
    /// The master heard (none on the master itself).
    pub master: Option<MasterRef>,
    pub vips: Vec<IpAddr>,
    pub stats: Counters,
    pub last_transition: Option<Transition>,
    /// An operator demoted it (`lvsd vrrp demote`): it stays BACKUP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demoted: Option<Demoted>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MasterRef {
    pub address: IpAddr,
    pub priority: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub reason: String,
    pub ago_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupStatus {
    pub name: String,
    pub state: Option<String>,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LvsStatus {
    pub virtual_servers: Vec<VsStatus>,
    pub probes: usize,
    pub ipvs_readable: bool,
}

/// This node's role for a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    #[serde(rename = "director")]
    Director,
    /// Colocated (issue 8), the instance holding the VIP is MASTER here.
    #[serde(rename = "director (also a real server)")]
    DirectorAlsoRealServer,
    /// Colocated, the instance holding the VIP is not MASTER here.
    #[serde(rename = "real server")]
    RealServer,
    /// Colocated with no VRRP instance holding the VIP.
    #[serde(rename = "director and real server")]
    DirectorAndRealServer,
}

impl Role {
    pub fn text(self) -> &'static str {
        match self {
            Role::Director => "director",
            Role::DirectorAlsoRealServer => "director (also a real server)",
            Role::RealServer => "real server",
            Role::DirectorAndRealServer => "director and real server",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VsStatus {
    pub name: String,
    /// The name `lvsd rs` takes and `lvsd rs list` shows (`10.0.0.100:80/tcp`, `fwmark 3`).
    #[serde(default)]
    pub id: String,
    pub role: Role,
    pub line: u32,
    pub scheduler: String,
    pub quorum: u32,
    pub quorum_up: bool,
    pub alive_weight: i64,
    pub sorry_server: Option<String>,
    /// None when the kernel's table could not be read.
    pub in_kernel: Option<bool>,
    /// The fwmark the colocated guard installs the service as.
    pub guard_fwmark: Option<String>,
    pub real_servers: Vec<RsStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RsStatus {
    pub address: String,
    /// The name `lvsd rs` takes and `lvsd rs list` shows (`192.168.1.10:80`).
    #[serde(default)]
    pub id: String,
    pub alive: bool,
    pub weight: i32,
    pub kernel_weight: Option<i32>,
    pub failed_checkers: usize,
    /// The connections a drain waits for (None: the kernel's table could not be read).
    #[serde(default)]
    pub active_conns: Option<u64>,
    /// An operator's drain or disable (`lvsd rs`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<RsAdmin>,
    pub in_state_s: f64,
    pub checkers: Vec<CheckerStatus>,
}

/// An operator's hold on a real server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RsAdmin {
    /// `draining`, `drained` or `disabled`.
    pub state: String,
    /// Unix time of the request.
    pub since: f64,
    /// Who asked (user, uid, pid of the control socket's peer).
    pub by: String,
    /// A drain's last moment (Unix time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<f64>,
}

/// An operator's demote of a VRRP instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demoted {
    pub since: f64,
    pub by: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckerStatus {
    #[serde(rename = "type")]
    pub kind: String,
    pub target: Option<String>,
    pub state: String,
    pub last_ok: Option<bool>,
    pub last_latency_ms: Option<f64>,
    pub last_error: Option<String>,
    pub last_check_ago_s: Option<f64>,
    pub consecutive_failures: Option<u32>,
    pub checks: Option<u64>,
    pub failures: Option<u64>,
    pub in_state_s: Option<f64>,
    pub suspended: Option<bool>,
    /// The checks' durations per bucket of lvsd_check's DURATION_BUCKETS, and their sum (for
    /// the metrics; not in the JSON).
    #[serde(skip)]
    pub durations: Option<(Vec<u32>, f64)>,
}

/// `reload` and `reload --dry-run`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReloadReply {
    pub ok: bool,
    pub applied: bool,
    /// What changes (dry run) or changed: VRRP, checkers, the host's steps.
    #[serde(default)]
    pub plan: Vec<String>,
    /// The new configuration's warnings, one line each: what it loses, as keepalived would.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The configuration's errors, rendered (`ok` false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<String>,
}

/// Any other reply: an error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorReply {
    pub error: String,
}

/// A counter struct (serialised with named u64 fields) as [`Counters`]; a nested map of
/// counters (the VRRP drops by reason) is flattened as `<field>_<name>` (`drops_auth_type`).
/// (Read as one flat map, the nested one made the whole conversion fail: `lvsd status` showed
/// no VRRP counters at all.)
pub fn counters<T: Serialize>(stats: &T) -> Counters {
    fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Counters) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let k = k.replace('-', "_");
                    let name = if prefix.is_empty() {
                        k
                    } else {
                        format!("{prefix}_{k}")
                    };
                    flatten(&name, v, out);
                }
            }
            v => {
                if let Some(n) = v.as_u64() {
                    out.insert(prefix.to_string(), n);
                }
            }
        }
    }
    let mut out = Counters::new();
    if let Ok(v) = serde_json::to_value(stats) {
        flatten("", &v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any line a client sends gets a request or an error, never a panic (issue 18's
        /// property test of the control socket's decoder; the bytes are bounded before this).
        #[test]
        fn any_request_line_is_a_request_or_an_error(line in "\\PC{0,300}") {
            let _ = Request::parse(&line);
        }

        /// JSON-shaped lines, with the fields of the real requests in any combination.
        #[test]
        fn any_json_request_is_a_request_or_an_error(
            v in proptest::option::of(0u64..4),
            req in proptest::option::of("status|events|reload|rs|vrrp|\\PC{0,8}"),
            action in proptest::option::of("drain|disable|enable|demote|promote|release|\\PC{0,8}"),
            vs in proptest::collection::vec("\\PC{0,20}", 0..4),
            rs in proptest::option::of("\\PC{0,20}"),
            timeout in proptest::option::of(proptest::num::f64::ANY),
        ) {
            let mut o = serde_json::Map::new();
            if let Some(v) = v { o.insert("v".into(), v.into()); }
            if let Some(r) = req { o.insert("request".into(), r.into()); }
            if let Some(a) = action { o.insert("action".into(), a.into()); }
            o.insert("virtual_server".into(), vs.into());
            if let Some(r) = rs { o.insert("real_server".into(), r.into()); }
            if let Some(t) = timeout.and_then(serde_json::Number::from_f64) {
                o.insert("timeout_s".into(), t.into());
            }
            let line = serde_json::Value::Object(o).to_string();
            let _ = Request::parse(&line);
        }
    }

    #[test]
    fn requests_round_trip_and_bad_ones_say_why() {
        let r = Request::Rs {
            action: crate::run::RsAction::Drain,
            virtual_server: vec!["10.0.0.1:80".into(), "tcp".into()],
            real_server: "10.0.1.1".into(),
            timeout_s: Some(60.0),
        };
        let line = serde_json::to_string(&Envelope {
            v: VERSION,
            request: r.clone(),
        })
        .unwrap();
        assert_eq!(Request::parse(&line), Ok(r));
        assert_eq!(
            Request::parse("reload --dry-run"),
            Ok(Request::Reload { dry_run: true })
        );
        assert!(Request::parse("{\"request\":\"status\"}")
            .unwrap_err()
            .contains("no version"));
        assert!(Request::parse("{\"v\":1,\"request\":\"rs\"}")
            .unwrap_err()
            .starts_with("bad request"));
    }

    #[test]
    fn an_instances_counters_include_every_drop_reason() {
        let mut st = lvsd_vrrp::validate::Stats::default();
        st.adverts_rx = 7;
        st.count_drop(lvsd_vrrp::validate::DropReason::Ttl);
        let c = counters(&st);
        assert_eq!(c.get("adverts_rx"), Some(&7), "{c:?}");
        assert_eq!(c.get("drops_ttl"), Some(&1), "{c:?}");
        assert_eq!(c.get("drops_checksum"), Some(&0), "{c:?}");
        assert_eq!(c.get("drops_auth_type"), Some(&0), "{c:?}");
    }

    #[test]
    fn a_status_round_trips_and_keeps_its_field_names() {
        let s = Status {
            vrrp: VrrpStatus {
                uptime_us: 5,
                instances: vec![InstanceStatus {
                    name: "VI_1".into(),
                    state: "MASTER".into(),
                    reason: "startup".into(),
                    vrid: 51,
                    version: 2,
                    interface: Some("eth0".into()),
                    priority: 100,
                    effective_priority: 100,
                    source: None,
                    master: None,
                    vips: vec!["10.0.0.1".parse().unwrap()],
                    stats: Counters::from([("adverts_rx".to_string(), 3)]),
                    last_transition: None,
                    demoted: None,
                }],
                ..Default::default()
            },
            lvs: LvsStatus {
                virtual_servers: vec![VsStatus {
                    name: "[10.0.0.1]:tcp:80".into(),
                    id: "10.0.0.1:80/tcp".into(),
                    role: Role::RealServer,
                    line: 3,
                    scheduler: "rr".into(),
                    quorum: 1,
                    quorum_up: true,
                    alive_weight: 2,
                    sorry_server: None,
                    in_kernel: Some(false),
                    guard_fwmark: None,
                    real_servers: vec![],
                }],
                probes: 2,
                ipvs_readable: true,
            },
        };
        let text = serde_json::to_string(&s).unwrap();
        // the names scripts and the VM suites read
        for k in [
            "\"instances\"",
            "\"virtual_servers\"",
            "\"role\":\"real server\"",
            "\"ipvs_readable\"",
            "\"uptime_us\"",
        ] {
            assert!(text.contains(k), "{k} in {text}");
        }
        let back: Status = serde_json::from_str(&text).unwrap();
        assert_eq!(back.vrrp.instances[0].stats["adverts_rx"], 3);
        assert_eq!(back.lvs.virtual_servers[0].role, Role::RealServer);
    }
}
