//! CSV records read a line at a time, with the line each record starts on.
//!
//! Applicant files are almost all plain lines: no quotes, one record per line. Those are
//! split at the separator directly, which costs a fraction of the csv crate's byte-by-byte
//! state machine; a line holding a quote is handed to that state machine (`csv_core`) from
//! its first byte, so quoted fields, doubled quotes and line breaks inside quotes read exactly
//! as the csv crate reads them. The dialect is the one idmaj reads every CSV file with:
//! records end at `\n` (a `\r` before it stays in the last field, to be trimmed), empty lines
//! are skipped, rows may have any number of fields.
//!
//! Each record's position is where it really starts: its first byte and the line of that
//! byte. (The csv crate gives the position where its read began, which is the first of any
//! empty lines before the record, so a message about a row after an empty line named the
//! wrong line.)

use std::io::{self, Read};

use csv::{ByteRecord, Position};

/// First size of the buffer; it grows only for a longer record (whose length the reader
/// below bounds).
const BUFFER: usize = 1 << 16;

/// A record as [`CsvRows::read_raw`] read it.
pub(crate) enum Raw<'a> {
    /// No more records.
    End,
    /// A line without quotes, as it lies in the reader's buffer (a `\r` before its end
    /// included): its fields are the bytes between the separators at `cuts`.
    Line {
        bytes: &'a [u8],
        cuts: &'a [usize],
        at: Position,
    },
    /// A record with quotes, read into the record passed in.
    Record,
}

/// Reads CSV records from `src`; see the module documentation.
pub(crate) struct CsvRows<R> {
    src: R,
    buf: Vec<u8>,
    /// Next unread byte of `buf`.
    pos: usize,
    /// End of the bytes read into `buf`.
    end: usize,
    /// True once `src` has nothing more.
    eof: bool,
    /// Offset in the stream of `buf[pos]`.
    byte: u64,
    /// Line of `buf[pos]` (from 1).
    line: u64,
    /// Records read so far.
    records: u64,
    delimiter: u8,
    /// For records with quotes; it only ever starts at the first byte of a record.
    core: csv_core::Reader,
    /// `core`'s output: the fields' bytes and where each ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// Where the separators of a plain line are.
    cuts: Vec<usize>,
}

impl<R: Read> CsvRows<R> {
    pub fn new(src: R, delimiter: u8) -> CsvRows<R> {
        CsvRows {
            src,
            buf: vec![0; BUFFER],
            pos: 0,
            end: 0,
            eof: false,
            byte: 0,
            line: 1,
            records: 0,
            delimiter,
            core: csv_core::ReaderBuilder::new()
                .delimiter(delimiter)
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            fields: vec![0; 1024],
            ends: vec![0; 64],
            cuts: Vec::new(),
        }
    }

    /// Reads more of `src` after the unread bytes (moved to the front), growing the buffer
    /// when they fill it.
    fn fill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.eof = n == 0;
        self.end += n;
        Ok(())
    }

    /// Moves past `n` bytes, counting their lines.
    fn consume(&mut self, n: usize) {
        let lines = memchr::memchr_iter(b'\n', &self.buf[self.pos..self.pos + n]).count();
        self.line += lines as u64;
        self.byte += n as u64;
        self.pos += n;
    }

    /// Reads the next record into `record` (with its position); `false` at the end.
    pub fn read_record(&mut self, record: &mut ByteRecord) -> io::Result<bool> {
        match self.read_raw(record)? {
            Raw::End => Ok(false),
            Raw::Record => Ok(true),
            Raw::Line { bytes, cuts, at } => {
                for field in line_fields(bytes, cuts) {
                    record.push_field(field);
                }
                record.set_position(Some(at));
                Ok(true)
            }
        }
    }

    /// Reads the next record: a line without quotes is handed back as it lies in the
    /// buffer, with where its separators are (no copy); a record with quotes is read into
    /// `record` (with its position).
    pub fn read_raw<'s>(&'s mut self, record: &mut ByteRecord) -> io::Result<Raw<'s>> {
        record.clear();
        // Empty lines between records are skipped.
        loop {
            if self.pos == self.end {
                if self.eof {
                    return Ok(Raw::End);
                }
                self.fill()?;
            } else if self.buf[self.pos] == b'\n' {
                self.consume(1);
            } else {
                break;
            }
        }
        let mut at = Position::new();
        at.set_byte(self.byte)
            .set_line(self.line)
            .set_record(self.records);
        // The record's line: up to its `\n`, or to the end of the input.
        let mut scanned = 0;
        let line_end = loop {
            match memchr::memchr(b'\n', &self.buf[self.pos + scanned..self.end]) {
                Some(i) => break self.pos + scanned + i,
                None if self.eof => break self.end,
                None => {
                    scanned = self.end - self.pos;
                    self.fill()?;
                }
            }
        };
        let start = self.pos;
        // One pass finds the separators and any quote (fields are short: a loop over the
        // bytes beats a vectorised search started again for each field).
        let quote = cuts(&self.buf[start..line_end], self.delimiter, &mut self.cuts);
        self.records += 1;
        if quote {
            self.quoted(record)?;
            record.set_position(Some(at));
            return Ok(Raw::Record);
        }
        // Past the line and its `\n` (the only one in it), without counting lines again.
        let ended = line_end < self.end;
        self.byte += (line_end - start + usize::from(ended)) as u64;
        self.line += u64::from(ended);
        self.pos = line_end + usize::from(ended);
        Ok(Raw::Line {
            bytes: &self.buf[start..line_end],
            cuts: &self.cuts,
            at,
        })
    }

    /// A record with quotes, read by `csv_core` from its first byte.
    fn quoted(&mut self, record: &mut ByteRecord) -> io::Result<()> {
        use csv_core::ReadRecordResult as R;
        let (mut out, mut nends) = (0, 0);
        loop {
            if self.pos == self.end && !self.eof {
                self.fill()?;
                continue;
            }
            // Empty input tells csv_core the input has ended.
            let (res, nin, nout, nend) = self.core.read_record(
                &self.buf[self.pos..self.end],
                &mut self.fields[out..],
                &mut self.ends[nends..],
            );
            self.consume(nin);
            out += nout;
            nends += nend;
            match res {
                R::InputEmpty => {}
                R::OutputFull => {
                    let more = self.fields.len() * 2;
                    self.fields.resize(more, 0);
                }
                R::OutputEndsFull => {
                    let more = self.ends.len() * 2;
                    self.ends.resize(more, 0);
                }
                R::Record | R::End => break,
            }
        }
        let mut start = 0;
        for &e in &self.ends[..nends] {
            record.push_field(&self.fields[start..e]);
            start = e;
        }
        Ok(())
    }
}

/// The fields of a plain line ([`Raw::Line`]): the bytes between the separators at `cuts`.
pub(crate) fn line_fields<'a>(
    bytes: &'a [u8],
    cuts: &'a [usize],
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let starts = std::iter::once(0).chain(cuts.iter().map(|&d| d + 1));
    let ends = cuts.iter().copied().chain(std::iter::once(bytes.len()));
    starts
        .zip(ends)
        .map(move |(start, end)| bytes.get(start..end).unwrap_or(&[]))
}

/// Bytes of `x` equal to `b`: the high bit of each such byte set, no other bit.
#[inline(always)]
fn bytes_equal(x: u64, b: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let v = x ^ (0x0101_0101_0101_0101 * u64::from(b));
    // A byte of `v` is zero exactly when adding 0x7f to its low bits carries nothing into
    // its high bit and that bit is clear.
    !(((v & LOW7).wrapping_add(LOW7)) | v | LOW7)
}

/// Writes where `delimiter` occurs in `line` into `at`; true when `line` holds a quote.
/// Eight bytes at a time (fields are short, so a vectorised search started again for each
/// field costs more).
fn cuts(line: &[u8], delimiter: u8, at: &mut Vec<usize>) -> bool {
    at.clear();
    let mut quotes = 0;
    let mut words = line.chunks_exact(8);
    let mut base = 0;
    for w in &mut words {
        let x = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        quotes |= bytes_equal(x, b'"');
        let mut d = bytes_equal(x, delimiter);
        while d != 0 {
            at.push(base + d.trailing_zeros() as usize / 8);
            d &= d - 1;
        }
        base += 8;
    }
    let mut quote = quotes != 0;
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == delimiter {
            at.push(base + i);
        }
        quote |= b == b'"';
    }
    quote
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A source that gives at most `step` bytes per read, so records cross buffer fills.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Every record: its fields, first byte and line.
    fn ours(data: &[u8], delimiter: u8, step: usize) -> Vec<(Vec<Vec<u8>>, u64, u64)> {
        let mut rows = CsvRows::new(Trickle { data, step }, delimiter);
        let mut record = ByteRecord::new();
        let mut out = Vec::new();
        while rows.read_record(&mut record).unwrap() {
            let at = record.position().unwrap();
            out.push((
                record.iter().map(<[u8]>::to_vec).collect(),
                at.byte(),
                at.line(),
            ));
        }
        out
    }

    /// The csv crate's records, as idmaj configured it before.
    fn theirs(data: &[u8], delimiter: u8) -> Vec<Vec<Vec<u8>>> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .flexible(true)
            .has_headers(false)
            .from_reader(data);
        reader
            .byte_records()
            .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect())
            .collect()
    }

    fn same_as_the_csv_crate(data: &[u8], delimiter: u8, step: usize) {
        let got = ours(data, delimiter, step);
        let fields: Vec<_> = got.iter().map(|r| r.0.clone()).collect();
        assert_eq!(fields, theirs(data, delimiter), "{data:?}");
        let mut after = 0;
        for (k, (_, byte, line)) in got.iter().enumerate() {
            let byte = *byte as usize;
            // A record starts on a line of its own, at its first byte (empty lines before
            // it skipped), after the previous record's.
            assert!(byte >= after, "{data:?}");
            assert_ne!(data[byte], b'\n', "{data:?}");
            if k == 0 {
                assert!(data[..byte].iter().all(|&b| b == b'\n'), "{data:?}");
            } else {
                assert_eq!(data[byte - 1], b'\n', "{data:?}");
            }
            let lines = 1 + data[..byte].iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(*line, lines, "{data:?}");
            after = byte + 1;
        }
    }

    #[test]
    fn plain_and_quoted_records_read_as_the_csv_crate_reads_them() {
        let cases: [&[u8]; 9] = [
            b"id,name\nA1,Amal\nA2,Said\n",
            b"id,name\r\nA1,Amal\r\n\r\nA2,Said",
            b"\n\nid;note\n\n\nA1;\"two\nlines\"\nA2;\"say \"\"hi\"\"\";x\n",
            b"a,\"b\nc\",d\n\"\"\n\n",
            b"x\n\"unterminated,quote\nnext\n",
            b"a,b\"c,d\n",
            b"\r\n  \n,\n,,\n",
            b"\xff\xfe,\xc3\xa9\n",
            b"",
        ];
        for data in cases {
            for step in [1, 2, 3, 7, 64, 1 << 20] {
                same_as_the_csv_crate(data, b',', step);
                same_as_the_csv_crate(data, b';', step);
            }
        }
    }

    #[test]
    fn a_row_after_empty_lines_is_on_its_own_line() {
        let got = ours(b"id,x\nA1,1\n\n\nA2,2\n", b',', 1 << 20);
        let lines: Vec<u64> = got.iter().map(|r| r.2).collect();
        assert_eq!(lines, [1, 2, 5]);
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_read_whole() {
        let long = "x".repeat(3 * BUFFER + 17);
        let data = format!("id,note\nA1,{long}\nA2,\"{long}\"\n");
        same_as_the_csv_crate(data.as_bytes(), b',', 1 << 20);
        same_as_the_csv_crate(data.as_bytes(), b',', 5000);
    }

    #[test]
    fn separators_and_quotes_are_found_in_every_byte_position() {
        for len in 0..40 {
            for i in 0..len {
                for b in [b',', b';', b'"', b'\t'] {
                    let mut line = vec![b'a'; len];
                    line[i] = b;
                    // Neighbours that differ by one bit from the byte searched for.
                    if i + 1 < len {
                        line[i + 1] = b ^ 1;
                    }
                    let mut at = Vec::new();
                    let quote = cuts(&line, b',', &mut at);
                    assert_eq!(quote, b == b'"', "{line:?}");
                    assert_eq!(at, if b == b',' { vec![i] } else { vec![] }, "{line:?}");
                }
            }
        }
        let line = [
            0x80u8,
            0xff,
            b',',
            0x2c ^ 0x80,
            b',',
            b',',
            0,
            1,
            b'"',
            b',',
        ];
        let mut at = Vec::new();
        assert!(cuts(&line, b',', &mut at));
        assert_eq!(at, [2, 4, 5, 9]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn any_bytes_read_as_the_csv_crate_reads_them(
            data in proptest::collection::vec(
                prop_oneof![
                    Just(b'a'), Just(b'b'), Just(b','), Just(b';'), Just(b'"'), Just(b'\n'),
                    Just(b'\r'), Just(b' '), Just(0xc3), Just(0xa9), Just(0xff),
                ],
                0..120,
            ),
            step in 1usize..9,
        ) {
            same_as_the_csv_crate(&data, b',', step);
            same_as_the_csv_crate(&data, b';', step);
        }
    }
}
