//! Decimal digits of whole numbers, for the output paths that write millions of them
//! without `format!`.

/// The decimal digits of a whole number, without sign: what `n.to_string()` writes, or
/// zero-padded to a width.
pub(crate) struct Decimal {
    buf: [u8; 20],
    start: usize,
}

impl Decimal {
    /// The digits of `n`, zero-padded to at least `width` of them (20 at most: a u64 has no
    /// more).
    pub(crate) fn new(mut n: u64, width: usize) -> Decimal {
        let mut buf = [b'0'; 20];
        let mut at = buf.len();
        loop {
            at -= 1;
            buf[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let start = at.min(buf.len() - width.min(buf.len()));
        Decimal { buf, start }
    }

    /// The digits, as ASCII bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    #[test]
    fn digits_are_what_to_string_writes_padded_to_the_width() {
        let mut cases: Vec<u64> = vec![0, 1, 9, 10, 99, 100, 12_345, u64::MAX, u64::MAX - 1];
        cases.extend((0..64).map(|k| 1u64 << k));
        cases.extend((1..20).map(|k| 10u64.pow(k) - 1));
        for n in cases {
            for width in [0, 1, 2, 4, 19, 20, 25] {
                let want = format!("{n:0width$}", width = width.min(20));
                assert_eq!(
                    Decimal::new(n, width).bytes(),
                    want.as_bytes(),
                    "{n} {width}"
                );
            }
        }
    }
}
