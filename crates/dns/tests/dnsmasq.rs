//! End to end against a real DNS server: dnsmasq on a loopback port, serving the records each
//! test needs. scripts/test installs it (Debian package `dnsmasq-base`); without it these tests
//! fail rather than pass vacuously.

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use causeway_dns::{
    Answer, DnsConfig, DnsResolver, EnumServices, Origin, Query, RecordKind, Resolved, SipTarget,
    Transport, ZoneDns,
};

/// A dnsmasq child that is killed when the test ends, pass or fail.
struct Dnsmasq {
    child: Child,
    port: u16,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dnsmasq_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join("dnsmasq"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "dnsmasq was not found on PATH or in /usr/sbin: these tests need a real DNS \
                 server. Install the Debian package dnsmasq-base (scripts/test does)."
            )
        })
}

/// A port free for both UDP and TCP on loopback, since the resolver may use either.
fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no loopback port was free for both UDP and TCP");
}

impl Dnsmasq {
    async fn start(records: &[&str]) -> Dnsmasq {
        let port = free_port();
        let child = Command::new(dnsmasq_binary())
            .args([
                "--no-daemon",
                &format!("--port={port}"),
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--pid-file=",
                // Authoritative for the test domains, so absent names are NXDOMAIN, not
                // REFUSED for want of an upstream server.
                "--local=/example.com/",
                "--local=/e164.arpa/",
                "--host-record=ready.example.com,192.0.2.254",
            ])
            .args(records)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dnsmasq");
        let mut server = Dnsmasq { child, port };
        server.wait_until_answering().await;
        server
    }

    async fn wait_until_answering(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let probe = Query::new("ready.example.com", RecordKind::A);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stderr = String::new();
                let _ = self
                    .child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr);
                panic!("dnsmasq exited ({status}) before answering:\n{stderr}");
            }
            // A fresh resolver each time, so that an early failure is not cached.
            let resolver = DnsResolver::new(&self.config()).unwrap();
            if matches!(resolver.lookup(&probe).await, Answer::Addresses(_)) {
                return;
            }
            assert!(Instant::now() < deadline, "dnsmasq did not answer in 10 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn config(&self) -> DnsConfig {
        DnsConfig::new(vec![([127, 0, 0, 1], self.port).into()])
            .with_timeout(Duration::from_secs(1))
    }

    fn resolver(&self) -> DnsResolver {
        DnsResolver::new(&self.config()).unwrap()
    }
}

fn summary(resolved: &Resolved) -> Vec<String> {
    resolved
        .destinations
        .iter()
        .map(|d| format!("{} {}", d.transport, d.addr))
        .collect()
}

#[tokio::test]
async fn naptr_then_srv_then_addresses_in_order() {
    let dns = Dnsmasq::start(&[
        // Listed out of order; the E2U record is an ENUM record and must not steer SIP.
        "--naptr-record=naptr.example.com,20,10,s,SIP+D2U,,_sip._udp.naptr.example.com",
        "--naptr-record=naptr.example.com,10,20,s,SIP+D2T,,_sip._tcp.naptr.example.com",
        "--naptr-record=naptr.example.com,10,10,s,SIPS+D2T,,_sips._tcp.naptr.example.com",
        "--naptr-record=naptr.example.com,5,10,u,E2U+sip,!^.*$!sip:wrong@example.com!",
        "--srv-host=_sips._tcp.naptr.example.com,tls.naptr.example.com,5061,10,0",
        "--srv-host=_sip._tcp.naptr.example.com,tcp2.naptr.example.com,5062,20,0",
        "--srv-host=_sip._tcp.naptr.example.com,tcp1.naptr.example.com,5060,10,0",
        "--srv-host=_sip._udp.naptr.example.com,udp.naptr.example.com,5060,10,0",
        "--host-record=tls.naptr.example.com,192.0.2.11",
        "--host-record=tcp1.naptr.example.com,192.0.2.12,2001:db8::12",
        "--host-record=tcp2.naptr.example.com,192.0.2.13",
        "--host-record=udp.naptr.example.com,192.0.2.14",
    ])
    .await;
    let resolved = dns
        .resolver()
        .resolve_sip(&SipTarget::new("naptr.example.com"), &ZoneDns::default())
        .await;
    assert_eq!(
        summary(&resolved),
        [
            "TLS 192.0.2.11:5061",
            "TCP 192.0.2.12:5060",
            "TCP [2001:db8::12]:5060",
            "TCP 192.0.2.13:5062",
            "UDP 192.0.2.14:5060",
        ],
        "{resolved:?}"
    );
    assert!(resolved.errors.is_empty(), "{:?}", resolved.errors);
    let Origin::Srv {
        naptr: Some(naptr),
        service,
        target,
        ..
    } = &resolved.destinations[1].origin
    else {
        panic!("{:?}", resolved.destinations[1].origin);
    };
    assert_eq!((naptr.order, naptr.preference), (10, 20));
    assert_eq!(service, "_sip._tcp.naptr.example.com");
    assert_eq!(target, "tcp1.naptr.example.com");
}

#[tokio::test]
async fn srv_only_domain_takes_the_guides_order_and_srv_weights() {
    let dns = Dnsmasq::start(&[
        "--srv-host=_sip._udp.srv.example.com,udp.srv.example.com,5070,0,0",
        "--srv-host=_sip._tcp.srv.example.com,light.srv.example.com,5060,10,0",
        "--srv-host=_sip._tcp.srv.example.com,heavy.srv.example.com,5060,10,90",
        "--host-record=udp.srv.example.com,192.0.2.21",
        "--host-record=light.srv.example.com,192.0.2.22",
        "--host-record=heavy.srv.example.com,192.0.2.23",
    ])
    .await;
    let resolver = dns.resolver();
    let target = SipTarget::new("srv.example.com");

    // RFC 2782 puts the weight-0 record first, so a draw of 0 picks it and any other draw
    // picks the weighted one, whatever order the server lists them in.
    let mut zero = |_: u64| 0;
    let resolved = resolver
        .resolve_sip_with(&target, &ZoneDns::default(), &mut zero)
        .await;
    assert_eq!(
        summary(&resolved),
        [
            "TCP 192.0.2.22:5060",
            "TCP 192.0.2.23:5060",
            "UDP 192.0.2.21:5070"
        ],
        "{resolved:?}"
    );

    let mut highest = |max: u64| max;
    let resolved = resolver
        .resolve_sip_with(&target, &ZoneDns::default(), &mut highest)
        .await;
    assert_eq!(
        summary(&resolved),
        [
            "TCP 192.0.2.23:5060",
            "TCP 192.0.2.22:5060",
            "UDP 192.0.2.21:5070"
        ],
        "{resolved:?}"
    );
}

#[tokio::test]
async fn a_only_domain_is_reached_only_with_include_address_record_on() {
    let dns = Dnsmasq::start(&["--host-record=aonly.example.com,192.0.2.31"]).await;
    let resolver = dns.resolver();
    let target = SipTarget::new("aonly.example.com");

    let off = resolver.resolve_sip(&target, &ZoneDns::default()).await;
    assert!(!off.is_found(), "{off:?}");
    assert!(off.errors.is_empty(), "{:?}", off.errors);

    let on = ZoneDns {
        include_address_record: true,
        default_transport: Transport::Tcp,
        ..ZoneDns::default()
    };
    let resolved = resolver.resolve_sip(&target, &on).await;
    assert_eq!(summary(&resolved), ["TCP 192.0.2.31:5060"]);
    assert_eq!(
        resolved.destinations[0].origin,
        Origin::Address {
            host: "aonly.example.com".into()
        }
    );

    // A port in the URI goes straight to the address records, whatever the zone says.
    let resolved = resolver
        .resolve_sip(&target.clone().with_port(5099), &ZoneDns::default())
        .await;
    assert_eq!(summary(&resolved), ["UDP 192.0.2.31:5099"]);

    let nothing = resolver
        .resolve_sip(&SipTarget::new("absent.example.com"), &on)
        .await;
    assert!(!nothing.is_found(), "{nothing:?}");
}

#[tokio::test]
async fn enum_number_becomes_sip_uris_in_order() {
    let dns = Dnsmasq::start(&[
        r"--naptr-record=9.8.7.6.5.4.3.2.1.4.4.e164.arpa,10,100,u,E2U+SIP,!^(.*)$!sip:\1@example.com!",
        r"--naptr-record=9.8.7.6.5.4.3.2.1.4.4.e164.arpa,20,10,u,E2U+sip,!^\+44(.*)$!sip:\1@uk.example.com!",
        // Not terminal, and first by order: the guide does not support these.
        r"--naptr-record=9.8.7.6.5.4.3.2.1.4.4.e164.arpa,1,1,,E2U+sip,!^.*$!sip:wrong@example.com!",
        r"--naptr-record=9.8.7.6.5.4.3.2.1.4.4.e164.arpa,10,200,u,E2U+h323,!^(.*)$!h323:\1@example.com!",
    ])
    .await;
    let found = dns
        .resolver()
        .resolve_enum("+44 123456789", "e164.arpa", EnumServices::SIP)
        .await;
    assert_eq!(
        found.domain.as_deref(),
        Some("9.8.7.6.5.4.3.2.1.4.4.e164.arpa")
    );
    let uris: Vec<&str> = found.uris.iter().map(|u| u.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "sip:44123456789@example.com",
            "sip:123456789@uk.example.com"
        ],
        "{found:?}"
    );

    let none = dns
        .resolver()
        .resolve_enum("44999", "e164.arpa", EnumServices::SIP)
        .await;
    assert!(none.uris.is_empty() && none.error.is_none(), "{none:?}");
}

#[tokio::test]
async fn an_unreachable_server_is_reported_within_the_timeout() {
    let port = free_port();
    let config = DnsConfig::new(vec![([127, 0, 0, 1], port).into()])
        .with_timeout(Duration::from_millis(300));
    let resolver = DnsResolver::new(&config).unwrap();
    let started = Instant::now();
    let resolved = resolver
        .resolve_sip(&SipTarget::new("example.com"), &ZoneDns::default())
        .await;
    assert!(!resolved.is_found());
    assert!(!resolved.errors.is_empty(), "{resolved:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn no_servers_is_a_configuration_error() {
    assert!(DnsResolver::new(&DnsConfig::new(Vec::new())).is_err());
}
