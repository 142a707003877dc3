//! The raw VRRP sockets: opened per (family, interface, AH), a receive task each, and adverts
//! sent as keepalived builds them.

use super::*;

impl Io {
    /// Opens (once) the sockets every instance needs and starts a receive task for each.
    pub(super) fn open_sockets(&mut self) -> Result<(), String> {
        let mut groups: HashMap<SocketKey, Vec<IpAddr>> = HashMap::new();
        for c in &self.plan.instances {
            let g = groups.entry(SocketKey::of(c)).or_default();
            if !c.is_unicast() && !g.contains(&c.mcast_group) {
                g.push(c.mcast_group);
            }
        }
        for (key, groups) in groups {
            if self.sockets.contains_key(&key) {
                continue;
            }
            let ifname = key.interface.as_deref();
            let sock = match key.family {
                Family::V4 => {
                    let g: Vec<Ipv4Addr> = groups
                        .iter()
                        .filter_map(|a| match a {
                            IpAddr::V4(a) => Some(*a),
                            _ => None,
                        })
                        .collect();
                    if key.ah {
                        VrrpSocket::open_v4_ah(ifname, &g)
                    } else {
                        VrrpSocket::open_v4(ifname, &g)
                    }
                }
                Family::V6 => {
                    let g: Vec<Ipv6Addr> = groups
                        .iter()
                        .filter_map(|a| match a {
                            IpAddr::V6(a) => Some(*a),
                            _ => None,
                        })
                        .collect();
                    VrrpSocket::open_v6(ifname, &g)
                }
            }
            .map_err(|e| format!("VRRP socket on {}: {e}", ifname.unwrap_or("(any)")))?;
            let sock = Arc::new(sock);
            self.sockets.insert(key.clone(), sock.clone());
            let tx = self.input.clone();
            tokio::spawn(receive(sock, key, tx));
        }
        Ok(())
    }

    pub(super) async fn send_advert(
        &mut self,
        router: &Router,
        id: InstanceId,
        advert: &packet::Advert,
        ah_seq: Option<u32>,
    ) {
        let inst = router.instance(id);
        let cfg = inst.config();
        let Some(src) = inst.source_address() else {
            return;
        };
        let Some(sock) = self.sockets.get(&SocketKey::of(cfg)).cloned() else {
            return;
        };
        let dsts: Vec<IpAddr> = if cfg.is_unicast() {
            cfg.unicast_peers.iter().map(|p| p.addr).collect()
        } else {
            vec![cfg.mcast_group]
        };
        let ifindex = match cfg.interface.as_deref() {
            Some(n) => self.link(n).await.map(|l| l.index).unwrap_or(0),
            None => 0,
        };
        for dst in dsts {
            self.payload.clear();
            advert.encode(cfg.pseudo_header(src, dst), &mut self.payload);
            let r = match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    let ip_id = self.next_ip_id(id);
                    let mut hdr = ipv4::Ipv4Out::keepalived(s, d, ip_id);
                    if cfg.is_unicast() {
                        hdr.ttl = cfg.unicast_ttl;
                    }
                    self.packet.clear();
                    let ah = match (&cfg.auth, ah_seq) {
                        (AuthConfig::Ah(key), Some(seq)) => Some(packet::ah::AhOut {
                            key,
                            spi: u32::from(s),
                            seq,
                        }),
                        _ => None,
                    };
                    ipv4::build_ipv4(&hdr, &self.payload, ah, &mut self.packet);
                    sock.send_v4(&self.packet, d).await
                }
                (IpAddr::V6(s), IpAddr::V6(d)) => sock.send_v6(&self.payload, s, d, ifindex).await,
                _ => Ok(()),
            };
            if let Err(e) = r {
                if self.log.allow(Some(id), "send") {
                    tracing::warn!("({}) cannot send advert to {dst}: {e}", cfg.name);
                }
            }
        }
    }
}

async fn receive(sock: Arc<VrrpSocket>, key: SocketKey, tx: mpsc::UnboundedSender<Input>) {
    let mut buf = vec![0u8; 65536];
    loop {
        let r = match key.family {
            Family::V4 => sock.recv_v4(&mut buf).await.map(|n| (n, None)),
            Family::V6 => sock.recv_v6(&mut buf).await.map(|m| (m.len, Some(m))),
        };
        match r {
            Ok((n, v6)) => {
                let input = Input::Packet {
                    key: key.clone(),
                    bytes: buf[..n.min(buf.len())].to_vec(),
                    v6,
                };
                if tx.send(input).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!("VRRP socket {:?}: {e}", key.interface);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
