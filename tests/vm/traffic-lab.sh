# traffic-lab.sh — the lab of traffic.sh and metrics.sh (sourced; VIP, P and TEST_TMP set by
# the caller): a client, a director and two real servers (busybox httpd answering "rs1" /
# "rs2") on one bridge, addressed as nat.conf / dr.conf / tun.conf say.
host() { # NAME ADDR... : a namespace on the bridge
  local n=$P$1; shift
  ns_add "$n"
  ip -n ${P}sw link add "p-$n" type veth peer name eth0 netns "$n"
  ip -n ${P}sw link set "p-$n" master br0 up
  local a; for a in "$@"; do ip -n "$n" addr add "$a" dev eth0; done
  ip -n "$n" link set eth0 up
}

lab_up() { # MODE
  local mode=$1 r
  ns_add ${P}sw
  ip -n ${P}sw link add br0 type bridge stp_state 0 forward_delay 0
  ip -n ${P}sw link set br0 up
  host c 10.98.0.10/24
  host d 10.98.0.1/24 10.98.1.1/24
  host r1 10.98.1.11/24
  host r2 10.98.1.12/24
  ip -n ${P}d addr add $VIP/24 dev eth0
  nsx ${P}d sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
    net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
  for r in r1 r2; do
    nsx $P$r sysctl -qw net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.eth0.accept_redirects=0
    ip -n $P$r route add default via 10.98.1.1
    if [ "$mode" != nat ]; then
      nsx $P$r sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
        net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
      ip -n $P$r addr add $VIP/32 dev lo
      ip -n $P$r route add 10.98.0.0/24 dev eth0
    fi
    if [ "$mode" = tun ]; then
      modprobe ipip 2>/dev/null
      ip -n $P$r link set tunl0 up
      nsx $P$r sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
    fi
    mkdir -p "$TEST_TMP/www-$r"; echo "rs${r#r}" > "$TEST_TMP/www-$r/index.html"
    local port=80; [ "$mode" = nat ] && port=8080
    bg_start $P$r busybox httpd -f -p $port -h "$TEST_TMP/www-$r"
    local _; for _ in $(seq 1 50); do
      nsx $P$r busybox wget -q -O /dev/null http://127.0.0.1:$port/ 2>/dev/null && break
      sleep 0.1
    done
  done
}

lab_down() {
  local p n
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do bg_stop "$p"; done
  for n in c d r1 r2 sw; do ns_del $P$n; done
}

