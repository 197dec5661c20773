//! ChannelData (RFC 8656 §12.4): a four-byte header (channel number, length) and the data,
//! padded to a multiple of four over TCP and TLS.

/// Channel numbers a client may bind. RFC 8656 narrowed the range to 0x4000–0x4FFF, but
/// RFC 5766 clients (coturn's among them) still pick numbers up to 0x7FFF, and nothing else
/// starts with those bits, so the old range is kept.
pub const CHANNEL_MIN: u16 = 0x4000;
pub const CHANNEL_MAX: u16 = 0x7FFF;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    pub channel: u16,
    pub data: &'a [u8],
}

impl<'a> ChannelData<'a> {
    /// One ChannelData message at the head of `buf` (a datagram may or may not carry the
    /// padding; anything after the data is ignored). `None` when the channel number is outside
    /// the range or the data is cut short.
    pub fn parse(buf: &'a [u8]) -> Option<ChannelData<'a>> {
        if buf.len() < 4 {
            return None;
        }
        let channel = u16::from_be_bytes([buf[0], buf[1]]);
        if !(CHANNEL_MIN..=CHANNEL_MAX).contains(&channel) {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        let data = buf.get(4..4 + len)?;
        Some(ChannelData { channel, data })
    }

    /// How many bytes of a stream the ChannelData message at its head takes, padding included,
    /// once the header has arrived.
    pub fn frame_len(buf: &[u8]) -> Option<usize> {
        if buf.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        Some(4 + len.div_ceil(4) * 4)
    }

    /// The four header bytes for `len` bytes of data on `channel`.
    pub fn header(channel: u16, len: usize) -> [u8; 4] {
        let c = channel.to_be_bytes();
        let l = (len as u16).to_be_bytes();
        [c[0], c[1], l[0], l[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_data_reads_with_or_without_padding() {
        let mut m = ChannelData::header(0x4001, 5).to_vec();
        m.extend_from_slice(b"hello");
        assert_eq!(
            ChannelData::parse(&m),
            Some(ChannelData {
                channel: 0x4001,
                data: b"hello"
            })
        );
        // Over a stream the frame includes the padding.
        assert_eq!(ChannelData::frame_len(&m), Some(12));
        m.extend_from_slice(&[0, 0, 0]);
        assert_eq!(ChannelData::parse(&m).unwrap().data, b"hello");
        // Cut short, or a number outside the channel range.
        assert_eq!(ChannelData::parse(&m[..8]), None);
        assert_eq!(ChannelData::parse(&ChannelData::header(0x8000, 0)), None);
        assert_eq!(ChannelData::parse(&ChannelData::header(0x3FFF, 0)), None);
    }
}
