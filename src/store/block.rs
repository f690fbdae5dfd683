//! A block of one host's log lines as the store keeps it: a small header per line (its
//! number, time, stream) followed by the texts, each ended by `\n`, compressed with LZ4.
//! Texts sit together so a search scans them in one pass; the header costs a few bytes a
//! line where a row per line cost its job name, host and index entries.

use crate::job::Stream;

/// A block holding this many bytes of text is full: the next line starts another.
pub(super) const BLOCK_BYTES: usize = 64 * 1024;
/// Or this many lines.
pub(super) const BLOCK_LINES: usize = 2048;
/// The most a block may claim to hold once uncompressed: a damaged size is refused, not
/// allocated.
const MAX_PAYLOAD: usize = 256 << 20;

/// Bits of a block's trigram filter (2 KiB).
const GRAM_BITS: u32 = 1 << 14;

/// Flag: the line came from stderr.
const STDERR: u8 = 1;
/// Flag: the line has no line end yet (a progress bar being redrawn); a later text of the
/// same host and stream replaces it.
const OPEN: u8 = 2;

/// One line's header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Head {
    /// Position in the job's log, from 1.
    pub seq: u64,
    /// Epoch milliseconds.
    pub ts: i64,
    /// Which stream.
    pub stream: Stream,
    /// No line end yet.
    pub open: bool,
    /// Byte range of the text in [`Block::texts`].
    pub start: usize,
    pub end: usize,
}

/// A block being built or read: headers and texts apart.
#[derive(Debug, Clone, Default)]
pub(super) struct Block {
    pub heads: Vec<Head>,
    /// Every line's text followed by `\n`.
    pub texts: Vec<u8>,
}

impl Block {
    /// Adds a line after the others.
    pub fn push(&mut self, seq: u64, ts: i64, stream: Stream, open: bool, text: &[u8]) {
        let start = self.texts.len();
        self.texts.extend_from_slice(text);
        self.heads.push(Head {
            seq,
            ts,
            stream,
            open,
            start,
            end: self.texts.len(),
        });
        self.texts.push(b'\n');
    }

    /// Gives line `seq` a new text, time and state; false when the block does not hold it.
    pub fn replace(&mut self, seq: u64, ts: i64, open: bool, text: &[u8]) -> bool {
        let Some(i) = self.heads.iter().position(|h| h.seq == seq) else {
            return false;
        };
        let head = self.heads[i];
        let old = head.end - head.start;
        self.texts
            .splice(head.start..head.end, text.iter().copied());
        let shift = text.len() as isize - old as isize;
        self.heads[i] = Head {
            ts,
            open,
            end: head.start + text.len(),
            ..head
        };
        for h in &mut self.heads[i + 1..] {
            h.start = (h.start as isize + shift) as usize;
            h.end = (h.end as isize + shift) as usize;
        }
        true
    }

    /// Whether another line would make it too big.
    pub fn is_full(&self) -> bool {
        self.heads.len() >= BLOCK_LINES || self.texts.len() >= BLOCK_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    pub fn first(&self) -> u64 {
        self.heads.first().map_or(0, |h| h.seq)
    }

    pub fn last(&self) -> u64 {
        self.heads.last().map_or(0, |h| h.seq)
    }

    /// The text of a line, as stored.
    pub fn text(&self, head: &Head) -> &[u8] {
        &self.texts[head.start..head.end]
    }

    /// The lowercased byte trigrams of its texts as a Bloom filter of [`GRAM_BITS`] bits: a
    /// search skips a block that lacks one of the searched text's (see [`needle_grams`]).
    pub fn grams(&self) -> Vec<u8> {
        let mut words = [0u64; (GRAM_BITS / 64) as usize];
        // The last three bytes, the newest highest: `a | b << 8 | c << 16`, as `gram_bit`.
        let mut gram = 0u32;
        for (i, &c) in self.texts.iter().enumerate() {
            gram = gram >> 8 | u32::from(c.to_ascii_lowercase()) << 16;
            if i >= 2 {
                let bit = gram_hash(gram);
                words[(bit >> 6) % words.len()] |= 1 << (bit & 63);
            }
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// The compressed form.
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(self.texts.len() + self.heads.len() * 6 + 8);
        put_varint(&mut payload, self.heads.len() as u64);
        let (mut seq, mut ts) = (self.first().saturating_sub(1), 0i64);
        for h in &self.heads {
            put_varint(&mut payload, h.seq - seq - 1);
            put_varint(&mut payload, zigzag(h.ts.wrapping_sub(ts)));
            let flags = u8::from(h.stream == Stream::Stderr) * STDERR + u8::from(h.open) * OPEN;
            payload.push(flags);
            put_varint(&mut payload, (h.end - h.start) as u64);
            (seq, ts) = (h.seq, h.ts);
        }
        payload.extend_from_slice(&self.texts);
        lz4_flex::compress_prepend_size(&payload)
    }

    /// Reads a block whose first line is `first`; an error names what is damaged.
    pub fn decode(data: &[u8], first: u64) -> Result<Block, String> {
        let size = data
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or("log block too short")?;
        if size > MAX_PAYLOAD {
            return Err(format!("log block claims {size} bytes"));
        }
        let payload =
            lz4_flex::decompress_size_prepended(data).map_err(|e| format!("log block: {e}"))?;
        let mut at = 0;
        let count = get_varint(&payload, &mut at)? as usize;
        let mut heads = Vec::with_capacity(count.min(BLOCK_LINES * 4));
        let (mut seq, mut ts, mut start) = (first.saturating_sub(1), 0i64, 0usize);
        for _ in 0..count {
            seq = seq
                .checked_add(get_varint(&payload, &mut at)? + 1)
                .ok_or("log block: line number overflows")?;
            ts = ts.wrapping_add(unzigzag(get_varint(&payload, &mut at)?));
            let flags = *payload.get(at).ok_or("log block: header cut short")?;
            at += 1;
            let len = get_varint(&payload, &mut at)? as usize;
            let end = start
                .checked_add(len)
                .ok_or("log block: text length overflows")?;
            heads.push(Head {
                seq,
                ts,
                stream: if flags & STDERR != 0 {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                },
                open: flags & OPEN != 0,
                start,
                end,
            });
            start = end + 1;
        }
        if start != payload.len() - at {
            return Err("log block: texts do not match their headers".into());
        }
        let texts = payload[at..].to_vec();
        Ok(Block { heads, texts })
    }
}

/// A trigram's bit in a block's filter (its bytes lowercased).
fn gram_bit(a: u8, b: u8, c: u8) -> usize {
    gram_hash(u32::from_le_bytes([a, b, c, 0]))
}

/// The filter bit of a trigram packed as `a | b << 8 | c << 16`.
fn gram_hash(gram: u32) -> usize {
    (gram.wrapping_mul(0x9E37_79B1) >> (32 - GRAM_BITS.trailing_zeros())) as usize
}

/// The filter bits a block must have to hold `needle`, case ignored: one per trigram of
/// ASCII characters other than `k` and `s`, the letters Unicode case folding also matches
/// to other characters (K, ſ). Empty when no trigram qualifies: every block is read.
pub(super) fn needle_grams(needle: &str) -> Vec<usize> {
    let bytes = needle.as_bytes();
    let mut bits: Vec<usize> = bytes
        .windows(3)
        .filter(|w| {
            w.iter()
                .all(|b| b.is_ascii() && !matches!(b.to_ascii_lowercase(), b'k' | b's'))
        })
        .map(|w| {
            let [a, b, c] = [w[0], w[1], w[2]].map(|b| b.to_ascii_lowercase());
            gram_bit(a, b, c)
        })
        .collect();
    bits.sort_unstable();
    bits.dedup();
    bits
}

/// Whether a block with filter `grams` may hold a text with filter bits `bits`; a block
/// without a filter (the one being filled, or one an earlier version wrote) may.
pub(super) fn may_hold(grams: Option<&[u8]>, bits: &[usize]) -> bool {
    match grams {
        Some(grams) if grams.len() == (GRAM_BITS / 8) as usize => bits
            .iter()
            .all(|&bit| grams[bit / 8] & (1 << (bit % 8)) != 0),
        _ => true,
    }
}

pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(super) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn get_varint(data: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*at).ok_or("log block: header cut short")?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
    }
    Err("log block: a number runs too long".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_reads_back_as_written_and_lines_can_be_replaced() {
        let mut block = Block::default();
        block.push(
            5,
            1_700_000_000_000,
            Stream::Stdout,
            false,
            b"epoch 1 loss=0.5",
        );
        block.push(
            7,
            1_700_000_000_010,
            Stream::Stderr,
            true,
            b"10%|#  |\r20%|##",
        );
        block.push(8, 1_699_999_999_990, Stream::Stdout, false, b"");
        assert!(block.replace(7, 1_700_000_000_020, false, b"\r100%|###|"));
        assert!(!block.replace(6, 0, false, b"x"));
        let back = Block::decode(&block.encode(), 5).unwrap();
        assert_eq!(back.heads, block.heads);
        assert_eq!(back.texts, block.texts);
        let texts: Vec<&[u8]> = back.heads.iter().map(|h| back.text(h)).collect();
        assert_eq!(
            texts,
            [&b"epoch 1 loss=0.5"[..], b"\r100%|###|", b""],
            "{texts:?}"
        );
        assert_eq!(back.heads[1].stream, Stream::Stderr);
        assert_eq!((back.first(), back.last()), (5, 8));
    }

    #[test]
    fn the_trigram_filter_keeps_every_block_a_search_can_match() {
        let mut block = Block::default();
        block.push(1, 0, Stream::Stdout, false, b"Epoch 3: val_loss=NaN");
        block.push(
            2,
            0,
            Stream::Stderr,
            false,
            "Traceback \u{212A}elvin".as_bytes(),
        );
        let grams = block.grams();
        for held in [
            "epoch 3",
            "EPOCH",
            "val_loss=nan",
            "Traceback",
            "nan",
            "kelvin",
        ] {
            assert!(may_hold(Some(&grams), &needle_grams(held)), "{held}");
        }
        assert!(!may_hold(Some(&grams), &needle_grams("CUDA out of memory")));
        assert!(!may_hold(Some(&grams), &needle_grams("epoch 4")));
        // k and s fold to non-ASCII letters too: no trigram of them is asked for.
        assert!(needle_grams("kss").is_empty());
        assert!(needle_grams("ab").is_empty(), "too short to filter");
        assert!(
            may_hold(None, &needle_grams("anything")),
            "no filter: read it"
        );
        // The same bits as trigram by trigram (filters already stored stay valid).
        let mut one_by_one = vec![0u8; (GRAM_BITS / 8) as usize];
        for w in block.texts.windows(3) {
            let bit = gram_bit(
                w[0].to_ascii_lowercase(),
                w[1].to_ascii_lowercase(),
                w[2].to_ascii_lowercase(),
            );
            one_by_one[bit / 8] |= 1 << (bit % 8);
        }
        assert_eq!(grams, one_by_one);
    }

    #[test]
    fn damaged_blocks_are_refused_not_trusted() {
        let mut block = Block::default();
        block.push(1, 0, Stream::Stdout, false, b"hello");
        let mut data = block.encode();
        assert!(Block::decode(&data[..3], 1).is_err());
        data[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Block::decode(&data, 1).unwrap_err().contains("claims"));
        let mut data = block.encode();
        let last = data.len() - 1;
        data[last] ^= 0xff;
        let _ = Block::decode(&data, 1);
        assert!(Block::decode(&[0, 0, 0, 0], 1).is_err());
    }
}
