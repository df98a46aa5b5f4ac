//! Classic pcap files (not pcapng): reading for `synwall replay`, writing for `replay --out`
//! and for the traffic generator. Pure Rust, no libpcap.
//!
//! File layout (all fields in the byte order given by the magic number):
//! ```text
//! global header, 24 bytes: magic u32, version major u16 (2), minor u16 (4),
//!                          thiszone i32, sigfigs u32, snaplen u32, linktype u32
//! each record: ts_sec u32, ts_frac u32 (µs or ns, per the magic), captured_len u32,
//!              original_len u32, then captured_len bytes
//! ```
//! The magic `0xa1b2c3d4` means microsecond timestamps, `0xa1b23c4d` nanoseconds; either may
//! appear byte-swapped (a file written on a big-endian host), and both are read.
//!
//! The reader treats the file as hostile: every length is checked against the snaplen and a
//! hard ceiling before anything is allocated, and a file cut short anywhere is an error naming
//! the record, never a panic. Capture I/O is not packet-path code: it runs in `replay` and in
//! tools, so it may do syscalls through its `Read`/`Write`, but it still allocates nothing per
//! record once its buffer has grown to the largest record.

use std::fmt;
use std::io::{self, Read, Write};

/// Magic number of a pcap file with microsecond timestamps.
pub const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// Magic number of a pcap file with nanosecond timestamps.
pub const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Link type of Ethernet frames (`LINKTYPE_ETHERNET`), the only one the engine parses.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Largest record we accept or write: libpcap's `MAXIMUM_SNAPLEN`. A hostile header cannot
/// make us allocate more than this per record, whatever snaplen it claims.
pub const MAX_SNAPLEN: u32 = 262_144;

const GLOBAL_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MICRO: u64 = 1_000;

/// Unit of the sub-second timestamp field of every record in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampResolution {
    Micros,
    Nanos,
}

impl TimestampResolution {
    fn magic(self) -> u32 {
        match self {
            TimestampResolution::Micros => PCAP_MAGIC_MICROS,
            TimestampResolution::Nanos => PCAP_MAGIC_NANOS,
        }
    }

    fn nanos_per_unit(self) -> u64 {
        match self {
            TimestampResolution::Micros => NANOS_PER_MICRO,
            TimestampResolution::Nanos => 1,
        }
    }
}

/// Byte order of a file's header and record fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    fn u32_at(self, bytes: &[u8], at: usize) -> u32 {
        let word = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        match self {
            ByteOrder::Little => u32::from_le_bytes(word),
            ByteOrder::Big => u32::from_be_bytes(word),
        }
    }

    fn u16_at(self, bytes: &[u8], at: usize) -> u16 {
        let half = [bytes[at], bytes[at + 1]];
        match self {
            ByteOrder::Little => u16::from_le_bytes(half),
            ByteOrder::Big => u16::from_be_bytes(half),
        }
    }
}

/// What a file's global header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcapHeader {
    pub resolution: TimestampResolution,
    pub byte_order: ByteOrder,
    pub version_major: u16,
    pub version_minor: u16,
    /// Largest captured length a record may have, as written (see [`PcapReader`] for the
    /// limit actually enforced).
    pub snaplen: u32,
    /// `LINKTYPE_*` value; [`LINKTYPE_ETHERNET`] for everything synwall handles. The reader
    /// reports it and lets the caller decide.
    pub linktype: u32,
}

/// Everything that can go wrong with a capture file. Record indexes count from 0.
#[derive(Debug)]
pub enum CaptureError {
    /// The underlying reader or writer failed.
    Io(io::Error),
    /// The file is shorter than the 24-byte global header.
    TruncatedHeader,
    /// The first four bytes are no pcap magic (pcapng files land here too).
    BadMagic(u32),
    /// The file ends inside a record's header or data.
    TruncatedRecord { index: u64 },
    /// A record's captured length is above the file's snaplen (or [`MAX_SNAPLEN`]); when
    /// writing, the frame is larger than the writer's snaplen.
    SnaplenExceeded {
        index: u64,
        captured_len: u32,
        snaplen: u32,
    },
    /// A record's captured length is above its original length: no capture tool writes that.
    CapturedExceedsOriginal {
        index: u64,
        captured_len: u32,
        original_len: u32,
    },
    /// When writing: the timestamp's seconds do not fit the 32-bit field (after 2106).
    TimestampOutOfRange { index: u64, timestamp_ns: u64 },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io(err) => write!(f, "capture i/o error: {err}"),
            CaptureError::TruncatedHeader => f.write_str("capture shorter than a pcap header"),
            CaptureError::BadMagic(magic) => {
                write!(f, "not a classic pcap file (magic {magic:#010x})")
            }
            CaptureError::TruncatedRecord { index } => {
                write!(f, "capture cut short inside record {index}")
            }
            CaptureError::SnaplenExceeded {
                index,
                captured_len,
                snaplen,
            } => write!(
                f,
                "record {index}: captured length {captured_len} exceeds snaplen {snaplen}"
            ),
            CaptureError::CapturedExceedsOriginal {
                index,
                captured_len,
                original_len,
            } => write!(
                f,
                "record {index}: captured length {captured_len} exceeds original length {original_len}"
            ),
            CaptureError::TimestampOutOfRange {
                index,
                timestamp_ns,
            } => write!(
                f,
                "record {index}: timestamp {timestamp_ns} ns does not fit a pcap record"
            ),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaptureError::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl From<io::Error> for CaptureError {
    fn from(err: io::Error) -> Self {
        CaptureError::Io(err)
    }
}

/// One record, borrowed from the reader's buffer until the next call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcapRecord<'a> {
    /// Capture time in nanoseconds since the Unix epoch (the engine's time scale in replay).
    pub timestamp_ns: u64,
    /// Length of the packet on the wire; `data.len()` when the capture did not truncate it.
    pub original_len: u32,
    /// The captured bytes (an Ethernet frame when the linktype says so).
    pub data: &'a [u8],
}

/// Reads records one at a time into a buffer it reuses.
///
/// Not an `Iterator`: each record borrows the reader's buffer, so the caller handles a record
/// before asking for the next (`while let Some(record) = reader.next_record()? { ... }`).
pub struct PcapReader<R: Read> {
    input: R,
    header: PcapHeader,
    /// Largest captured length accepted: the file's snaplen, bounded by [`MAX_SNAPLEN`]
    /// (a snaplen of 0 or above the ceiling means the ceiling).
    max_record_len: u32,
    buffer: Vec<u8>,
    next_index: u64,
}

impl<R: Read> PcapReader<R> {
    /// Reads and checks the global header.
    pub fn new(mut input: R) -> Result<Self, CaptureError> {
        let mut raw = [0u8; GLOBAL_HEADER_LEN];
        if read_until_full(&mut input, &mut raw)? < GLOBAL_HEADER_LEN {
            return Err(CaptureError::TruncatedHeader);
        }
        let header = parse_global_header(&raw)?;
        let max_record_len = if header.snaplen == 0 || header.snaplen > MAX_SNAPLEN {
            MAX_SNAPLEN
        } else {
            header.snaplen
        };
        Ok(PcapReader {
            input,
            header,
            max_record_len,
            buffer: Vec::new(),
            next_index: 0,
        })
    }

    pub fn header(&self) -> &PcapHeader {
        &self.header
    }

    /// Number of records returned so far (the index the next record will have).
    pub fn records_read(&self) -> u64 {
        self.next_index
    }

    /// The next record, or `None` at a clean end of file (exactly on a record boundary).
    /// After an error the reader's position is unspecified; stop reading.
    pub fn next_record(&mut self) -> Result<Option<PcapRecord<'_>>, CaptureError> {
        let index = self.next_index;
        let mut raw = [0u8; RECORD_HEADER_LEN];
        match read_until_full(&mut self.input, &mut raw)? {
            0 => return Ok(None),
            RECORD_HEADER_LEN => {}
            _ => return Err(CaptureError::TruncatedRecord { index }),
        }
        let order = self.header.byte_order;
        let ts_sec = u64::from(order.u32_at(&raw, 0));
        let ts_frac = u64::from(order.u32_at(&raw, 4));
        let captured_len = order.u32_at(&raw, 8);
        let original_len = order.u32_at(&raw, 12);
        if captured_len > self.max_record_len {
            return Err(CaptureError::SnaplenExceeded {
                index,
                captured_len,
                snaplen: self.max_record_len,
            });
        }
        if captured_len > original_len {
            return Err(CaptureError::CapturedExceedsOriginal {
                index,
                captured_len,
                original_len,
            });
        }
        // Bounded by max_record_len above, so a hostile length cannot force a huge allocation;
        // the buffer only grows, so steady state allocates nothing.
        let len = captured_len as usize;
        self.buffer.resize(len, 0);
        if read_until_full(&mut self.input, &mut self.buffer[..len])? < len {
            return Err(CaptureError::TruncatedRecord { index });
        }
        self.next_index += 1;
        // Seconds fit 32 bits and the fraction is below 2^32 units of at most 1000 ns, so
        // this cannot overflow u64. A fraction past one second (a broken writer) simply
        // carries into the seconds, as libpcap-based tools display it.
        let timestamp_ns =
            ts_sec * NANOS_PER_SEC + ts_frac * self.header.resolution.nanos_per_unit();
        Ok(Some(PcapRecord {
            timestamp_ns,
            original_len,
            data: &self.buffer[..len],
        }))
    }
}

fn parse_global_header(raw: &[u8; GLOBAL_HEADER_LEN]) -> Result<PcapHeader, CaptureError> {
    let magic_le = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let (resolution, byte_order) = [
        (TimestampResolution::Micros, PCAP_MAGIC_MICROS),
        (TimestampResolution::Nanos, PCAP_MAGIC_NANOS),
    ]
    .into_iter()
    .find_map(|(resolution, magic)| {
        if magic_le == magic {
            Some((resolution, ByteOrder::Little))
        } else if magic_le == magic.swap_bytes() {
            Some((resolution, ByteOrder::Big))
        } else {
            None
        }
    })
    .ok_or(CaptureError::BadMagic(magic_le))?;
    Ok(PcapHeader {
        resolution,
        byte_order,
        version_major: byte_order.u16_at(raw, 4),
        version_minor: byte_order.u16_at(raw, 6),
        snaplen: byte_order.u32_at(raw, 16),
        linktype: byte_order.u32_at(raw, 20),
    })
}

/// Fills `buf` unless the input ends first; returns how many bytes were read. Unlike
/// `read_exact` this tells a clean end of file (0) from a cut-short record.
fn read_until_full<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// Writes a little-endian classic pcap with Ethernet linktype.
///
/// The default resolution is microseconds ([`PcapWriter::new`]): every pcap tool reads it.
/// Timestamps are given in nanoseconds and truncated to whole microseconds; use
/// [`PcapWriter::with_resolution`] with `Nanos` to keep them exact.
pub struct PcapWriter<W: Write> {
    output: W,
    resolution: TimestampResolution,
    snaplen: u32,
    next_index: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Microsecond timestamps, snaplen [`MAX_SNAPLEN`].
    pub fn new(output: W) -> Result<Self, CaptureError> {
        Self::with_resolution(output, TimestampResolution::Micros, MAX_SNAPLEN)
    }

    /// Writes the global header. `snaplen` above [`MAX_SNAPLEN`] (or 0) is clamped to it.
    pub fn with_resolution(
        mut output: W,
        resolution: TimestampResolution,
        snaplen: u32,
    ) -> Result<Self, CaptureError> {
        let snaplen = if snaplen == 0 || snaplen > MAX_SNAPLEN {
            MAX_SNAPLEN
        } else {
            snaplen
        };
        let mut header = [0u8; GLOBAL_HEADER_LEN];
        header[0..4].copy_from_slice(&resolution.magic().to_le_bytes());
        header[4..6].copy_from_slice(&2u16.to_le_bytes());
        header[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0, as every modern writer leaves them.
        header[16..20].copy_from_slice(&snaplen.to_le_bytes());
        header[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        output.write_all(&header)?;
        Ok(PcapWriter {
            output,
            resolution,
            snaplen,
            next_index: 0,
        })
    }

    /// Appends one whole frame (original length = captured length). A frame larger than the
    /// snaplen is refused rather than silently truncated.
    pub fn write_record(&mut self, timestamp_ns: u64, data: &[u8]) -> Result<(), CaptureError> {
        let index = self.next_index;
        let captured_len = u32::try_from(data.len())
            .ok()
            .filter(|&len| len <= self.snaplen)
            .ok_or(CaptureError::SnaplenExceeded {
                index,
                captured_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
                snaplen: self.snaplen,
            })?;
        let ts_sec = u32::try_from(timestamp_ns / NANOS_PER_SEC).map_err(|_| {
            CaptureError::TimestampOutOfRange {
                index,
                timestamp_ns,
            }
        })?;
        // Below one second's worth of units, so it fits u32.
        let ts_frac = ((timestamp_ns % NANOS_PER_SEC) / self.resolution.nanos_per_unit()) as u32;
        let mut header = [0u8; RECORD_HEADER_LEN];
        header[0..4].copy_from_slice(&ts_sec.to_le_bytes());
        header[4..8].copy_from_slice(&ts_frac.to_le_bytes());
        header[8..12].copy_from_slice(&captured_len.to_le_bytes());
        header[12..16].copy_from_slice(&captured_len.to_le_bytes());
        self.output.write_all(&header)?;
        self.output.write_all(data)?;
        self.next_index += 1;
        Ok(())
    }

    /// Number of records written so far.
    pub fn records_written(&self) -> u64 {
        self.next_index
    }

    pub fn flush(&mut self) -> Result<(), CaptureError> {
        Ok(self.output.flush()?)
    }

    /// Flushes and gives the output back.
    pub fn into_inner(mut self) -> Result<W, CaptureError> {
        self.output.flush()?;
        Ok(self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME_A: [u8; 14] = [
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00, // Ethernet, IPv4
    ];
    const FRAME_B: [u8; 3] = [0xde, 0xad, 0xbe];

    fn write_capture(resolution: TimestampResolution, records: &[(u64, &[u8])]) -> Vec<u8> {
        let mut writer = PcapWriter::with_resolution(Vec::new(), resolution, 0).unwrap();
        for &(ts, data) in records {
            writer.write_record(ts, data).unwrap();
        }
        assert_eq!(writer.records_written(), records.len() as u64);
        writer.into_inner().unwrap()
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(u64, Vec<u8>)>, CaptureError> {
        let mut reader = PcapReader::new(bytes)?;
        let mut out = Vec::new();
        while let Some(record) = reader.next_record()? {
            out.push((record.timestamp_ns, record.data.to_vec()));
        }
        Ok(out)
    }

    /// A big-endian nanosecond file, byte by byte, as a big-endian host would write it.
    const BIG_ENDIAN_NANOS: [u8; 24 + 16 + 3] = [
        0xa1, 0xb2, 0x3c, 0x4d, 0x00, 0x02, 0x00, 0x04, // magic, version 2.4
        0, 0, 0, 0, 0, 0, 0, 0, // thiszone, sigfigs
        0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, // snaplen 65535, Ethernet
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x2c, // 2 s, 300 ns
        0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x40, // captured 3, original 64
        0xde, 0xad, 0xbe,
    ];

    #[test]
    fn round_trip_micros_truncates_to_whole_microseconds() {
        let bytes = write_capture(
            TimestampResolution::Micros,
            &[(1_700_000_000_123_456_789, &FRAME_A), (5_000, &FRAME_B)],
        );
        assert_eq!(&bytes[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(bytes.len(), 24 + 16 + 14 + 16 + 3);
        let records = read_all(&bytes).unwrap();
        assert_eq!(
            records,
            vec![
                (1_700_000_000_123_456_000, FRAME_A.to_vec()),
                (5_000, FRAME_B.to_vec())
            ]
        );
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        let header = *reader.header();
        assert_eq!(reader.next_record().unwrap().unwrap().original_len, 14);
        assert_eq!(
            header,
            PcapHeader {
                resolution: TimestampResolution::Micros,
                byte_order: ByteOrder::Little,
                version_major: 2,
                version_minor: 4,
                snaplen: MAX_SNAPLEN,
                linktype: LINKTYPE_ETHERNET,
            }
        );
    }

    #[test]
    fn round_trip_nanos_is_exact() {
        let bytes = write_capture(
            TimestampResolution::Nanos,
            &[(1_700_000_000_123_456_789, &FRAME_A), (1, &[])],
        );
        assert_eq!(&bytes[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        let records = read_all(&bytes).unwrap();
        assert_eq!(
            records,
            vec![(1_700_000_000_123_456_789, FRAME_A.to_vec()), (1, vec![])]
        );
    }

    #[test]
    fn reads_big_endian_nanosecond_file_with_truncated_record() {
        let mut reader = PcapReader::new(&BIG_ENDIAN_NANOS[..]).unwrap();
        assert_eq!(reader.header().byte_order, ByteOrder::Big);
        assert_eq!(reader.header().resolution, TimestampResolution::Nanos);
        assert_eq!(reader.header().snaplen, 65_535);
        let record = reader.next_record().unwrap().unwrap();
        assert_eq!(record.timestamp_ns, 2_000_000_300);
        assert_eq!(record.original_len, 64);
        assert_eq!(record.data, &FRAME_B);
        assert!(reader.next_record().unwrap().is_none());
        assert_eq!(reader.records_read(), 1);
    }

    #[test]
    fn reads_big_endian_microsecond_magic() {
        let mut bytes = BIG_ENDIAN_NANOS;
        bytes[2..4].copy_from_slice(&[0xc3, 0xd4]);
        let records = read_all(&bytes).unwrap();
        assert_eq!(records, vec![(2_000_300_000, FRAME_B.to_vec())]);
    }

    #[test]
    fn empty_capture_has_no_records() {
        let bytes = write_capture(TimestampResolution::Micros, &[]);
        assert_eq!(read_all(&bytes).unwrap(), vec![]);
    }

    #[test]
    fn every_cut_of_a_file_is_an_error_or_a_clean_prefix() {
        let bytes = write_capture(
            TimestampResolution::Micros,
            &[(1_000, &FRAME_A), (2_000, &FRAME_B)],
        );
        let first_end = 24 + 16 + FRAME_A.len();
        for cut in 0..bytes.len() {
            let result = read_all(&bytes[..cut]);
            match cut {
                0..=23 => assert!(matches!(result, Err(CaptureError::TruncatedHeader))),
                24 => assert_eq!(result.unwrap().len(), 0),
                c if c < first_end => assert!(matches!(
                    result,
                    Err(CaptureError::TruncatedRecord { index: 0 })
                )),
                c if c == first_end => assert_eq!(result.unwrap().len(), 1),
                _ => assert!(matches!(
                    result,
                    Err(CaptureError::TruncatedRecord { index: 1 })
                )),
            }
        }
    }

    #[test]
    fn bad_magic_is_refused() {
        let mut bytes = write_capture(TimestampResolution::Micros, &[]);
        // The pcapng section header block type.
        bytes[0..4].copy_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a]);
        assert!(matches!(
            PcapReader::new(&bytes[..]),
            Err(CaptureError::BadMagic(0x0a0d_0d0a))
        ));
    }

    #[test]
    fn record_above_snaplen_is_refused_before_reading_it() {
        let mut bytes = BIG_ENDIAN_NANOS;
        bytes[16..20].copy_from_slice(&2u32.to_be_bytes());
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        assert!(matches!(
            reader.next_record(),
            Err(CaptureError::SnaplenExceeded {
                index: 0,
                captured_len: 3,
                snaplen: 2
            })
        ));
    }

    #[test]
    fn hostile_length_is_bounded_by_the_ceiling_not_the_claimed_snaplen() {
        let mut bytes = BIG_ENDIAN_NANOS.to_vec();
        bytes[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        bytes[32..36].copy_from_slice(&u32::MAX.to_be_bytes());
        bytes[36..40].copy_from_slice(&u32::MAX.to_be_bytes());
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        assert!(matches!(
            reader.next_record(),
            Err(CaptureError::SnaplenExceeded {
                index: 0,
                captured_len: u32::MAX,
                snaplen: MAX_SNAPLEN
            })
        ));
    }

    #[test]
    fn captured_longer_than_original_is_refused() {
        let mut bytes = BIG_ENDIAN_NANOS;
        bytes[36..40].copy_from_slice(&2u32.to_be_bytes());
        assert!(matches!(
            read_all(&bytes),
            Err(CaptureError::CapturedExceedsOriginal {
                index: 0,
                captured_len: 3,
                original_len: 2
            })
        ));
    }

    #[test]
    fn writer_refuses_frames_above_snaplen_and_late_timestamps() {
        let mut writer =
            PcapWriter::with_resolution(Vec::new(), TimestampResolution::Micros, 4).unwrap();
        writer.write_record(0, &[1, 2, 3, 4]).unwrap();
        assert!(matches!(
            writer.write_record(0, &[0; 5]),
            Err(CaptureError::SnaplenExceeded {
                index: 1,
                captured_len: 5,
                snaplen: 4
            })
        ));
        let late = (u64::from(u32::MAX) + 1) * NANOS_PER_SEC;
        assert!(matches!(
            writer.write_record(late, &[]),
            Err(CaptureError::TimestampOutOfRange { index: 1, .. })
        ));
        assert_eq!(writer.records_written(), 1);
    }

    #[test]
    fn reader_buffer_stops_growing_after_the_largest_record() {
        let big = [7u8; 1500];
        let records: Vec<(u64, &[u8])> = (0..10)
            .map(|i| (i, if i % 2 == 0 { &big[..] } else { &FRAME_B[..] }))
            .collect();
        let bytes = write_capture(TimestampResolution::Nanos, &records);
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        reader.next_record().unwrap();
        let capacity = reader.buffer.capacity();
        let mut count = 1;
        while let Some(record) = reader.next_record().unwrap() {
            assert_eq!(record.data.len(), if count % 2 == 0 { 1500 } else { 3 });
            count += 1;
        }
        assert_eq!(count, 10);
        assert_eq!(reader.buffer.capacity(), capacity);
    }
}
