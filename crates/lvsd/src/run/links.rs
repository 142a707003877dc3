//! Interfaces by name: looked up once over rtnetlink and kept (a dump at start and reload,
//! one request on a miss); link events keep `up` current.

use lvsd_netif::Netlink;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy)]
pub struct LinkInfo {
    pub index: u32,
    pub up: bool,
    pub mac: Option<[u8; 6]>,
}

impl From<&lvsd_netif::Link> for LinkInfo {
    fn from(l: &lvsd_netif::Link) -> LinkInfo {
        LinkInfo {
            index: l.index,
            up: l.up,
            mac: l.mac,
        }
    }
}

pub struct Links {
    nl: Netlink,
    map: HashMap<String, LinkInfo>,
}

impl Links {
    pub fn new(nl: Netlink) -> Links {
        Links {
            nl,
            map: HashMap::new(),
        }
    }

    /// Every link again (a dump).
    pub async fn refresh(&mut self) {
        match self.nl.links().await {
            Ok(links) => {
                self.map = links
                    .iter()
                    .map(|l| (l.name.clone(), LinkInfo::from(l)))
                    .collect()
            }
            Err(e) => tracing::error!("netlink: cannot list links: {e}"),
        }
    }

    pub async fn get(&mut self, name: &str) -> Option<LinkInfo> {
        if let Some(l) = self.map.get(name) {
            return Some(*l);
        }
        match self.nl.link_by_name(name).await {
            Ok(Some(l)) => {
                let info = LinkInfo::from(&l);
                self.map.insert(name.to_string(), info);
                Some(info)
            }
            _ => None,
        }
    }

    /// Records a link event; returns whether the state changed.
    pub fn set_up(&mut self, name: &str, up: bool) -> bool {
        match self.map.get_mut(name) {
            Some(l) if l.up == up => false,
            Some(l) => {
                l.up = up;
                true
            }
            None => true,
        }
    }
}
