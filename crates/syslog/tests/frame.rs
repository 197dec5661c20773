//! Transport framing.

use causeway_syslog::{frame, udp_limit, Format, Transport};

#[test]
fn udp_sends_the_message_as_it_is() {
    let m = b"<13>1 - - - - - - hello";
    assert_eq!(frame(m, Transport::Udp, Format::Ietf), m);
    assert_eq!(frame(m, Transport::Udp, Format::Bsd), m);
}

#[test]
fn udp_cuts_to_the_format_limit() {
    assert_eq!(udp_limit(Format::Bsd), 1024);
    assert_eq!(udp_limit(Format::Ietf), 2048);
    let long = vec![b'x'; 5000];
    assert_eq!(frame(&long, Transport::Udp, Format::Bsd).len(), 1024);
    assert_eq!(frame(&long, Transport::Udp, Format::Ietf).len(), 2048);
    let exact = vec![b'y'; 1024];
    assert_eq!(frame(&exact, Transport::Udp, Format::Bsd), exact);
}

#[test]
fn udp_cut_keeps_utf8_whole() {
    // 1023 ASCII bytes and then a three-byte character straddling the limit.
    let mut m = vec![b'a'; 1023];
    m.extend_from_slice("\u{260e}tail".as_bytes());
    let out = frame(&m, Transport::Udp, Format::Bsd);
    assert_eq!(out.len(), 1023);
    assert!(std::str::from_utf8(&out).is_ok());
}

#[test]
fn ietf_over_streams_is_octet_counted() {
    let m = "<13>1 - - - - - - caf\u{e9}".as_bytes();
    let want = [format!("{} ", m.len()).as_bytes(), m].concat();
    assert_eq!(want.len(), m.len() + 3);
    assert_eq!(frame(m, Transport::Tcp, Format::Ietf), want);
    assert_eq!(frame(m, Transport::Tls, Format::Ietf), want);
    assert_eq!(frame(b"", Transport::Tcp, Format::Ietf), b"0 ");
}

#[test]
fn streams_are_not_cut() {
    let long = vec![b'z'; 5000];
    let out = frame(&long, Transport::Tcp, Format::Ietf);
    assert_eq!(&out[..5], b"5000 ");
    assert_eq!(out.len(), 5005);
    assert_eq!(frame(&long, Transport::Tls, Format::Bsd).len(), 5001);
}

#[test]
fn bsd_over_streams_ends_with_lf() {
    let m = b"<13>Jan  1 00:00:00 h app: hi";
    let mut want = m.to_vec();
    want.push(b'\n');
    assert_eq!(frame(m, Transport::Tcp, Format::Bsd), want);
    assert_eq!(frame(m, Transport::Tls, Format::Bsd), want);
    assert_eq!(
        frame(b"a\nb", Transport::Tcp, Format::Bsd),
        b"a b\n".to_vec()
    );
}
