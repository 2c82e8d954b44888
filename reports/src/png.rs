//! A small, deterministic PNG encoder for 8-bit RGB images: per-row filter choice (None,
//! Sub or Up, by the minimum-sum-of-absolute-differences heuristic), a zlib stream of one
//! fixed-Huffman deflate block with greedy LZ77 matching, CRC-32 and Adler-32.
//!
//! It exists so chart PNGs can be produced in memory, byte-stable across runs and
//! independent of image-crate versions.

/// PNG's eight-byte signature.
pub const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Encodes `rgb` (`width × height` pixels, 3 bytes each, rows top to bottom) as a PNG.
/// Fails when the buffer's length does not match the size.
pub(crate) fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, String> {
    let stride = width as usize * 3;
    if width == 0 || height == 0 || rgb.len() != stride * height as usize {
        return Err(format!(
            "{} bytes of RGB do not make a {width}×{height} image",
            rgb.len()
        ));
    }
    let raw = filter_rows(rgb, stride);
    let mut out = Vec::with_capacity(raw.len() / 8 + 64);
    out.extend_from_slice(&SIGNATURE);

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, truecolour, deflate, adaptive, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib(&raw));
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    // Chunks are far below 2³¹ bytes for chart-sized images.
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Each row prefixed with its filter type, filtered with the best of None, Sub and Up.
fn filter_rows(rgb: &[u8], stride: usize) -> Vec<u8> {
    let mut raw = Vec::with_capacity(rgb.len() + rgb.len() / stride);
    let zero = vec![0u8; stride];
    let mut prev: &[u8] = &zero;
    let mut candidates = [vec![0u8; stride], vec![0u8; stride], vec![0u8; stride]];
    for row in rgb.chunks_exact(stride) {
        for i in 0..stride {
            let left = if i >= 3 { row[i - 3] } else { 0 };
            candidates[0][i] = row[i];
            candidates[1][i] = row[i].wrapping_sub(left);
            candidates[2][i] = row[i].wrapping_sub(prev[i]);
        }
        let cost = |c: &[u8]| {
            c.iter()
                .map(|&b| u64::from((b as i8).unsigned_abs()))
                .sum::<u64>()
        };
        let mut best = 0;
        for f in 1..3 {
            if cost(&candidates[f]) < cost(&candidates[best]) {
                best = f;
            }
        }
        raw.push(best as u8);
        raw.extend_from_slice(&candidates[best]);
        prev = row;
    }
    raw
}

/// A zlib stream (RFC 1950) of `data`: header, one fixed-Huffman deflate block, Adler-32.
fn zlib(data: &[u8]) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.bytes.extend_from_slice(&[0x78, 0x01]);
    deflate_fixed(data, &mut w);
    let mut out = w.finish();
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

const WINDOW: usize = 32_768;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
const MAX_CHAIN: usize = 48;
const HASH_BITS: u32 = 15;
const NONE: u32 = u32::MAX;

/// One final fixed-Huffman block (RFC 1951 §3.2.6) with greedy hash-chain LZ77.
fn deflate_fixed(data: &[u8], w: &mut BitWriter) {
    w.bits(1, 1); // BFINAL
    w.bits(1, 2); // BTYPE = 01, fixed Huffman
    let mut chains = Chains {
        head: vec![NONE; 1 << HASH_BITS],
        prev: vec![NONE; data.len()],
    };
    let mut i = 0;
    while i < data.len() {
        let (mut best_len, mut best_dist) = (0, 0);
        if i + MIN_MATCH <= data.len() {
            let max_len = MAX_MATCH.min(data.len() - i);
            let mut cand = chains.head[hash(data, i)];
            let mut steps = 0;
            while cand != NONE && steps < MAX_CHAIN {
                let c = cand as usize;
                let dist = i - c;
                if dist > WINDOW {
                    break;
                }
                let len = data[c..c + max_len]
                    .iter()
                    .zip(&data[i..i + max_len])
                    .take_while(|(a, b)| a == b)
                    .count();
                if len > best_len {
                    (best_len, best_dist) = (len, dist);
                    if len == max_len {
                        break;
                    }
                }
                cand = chains.prev[c];
                steps += 1;
            }
        }
        if best_len >= MIN_MATCH {
            w.length_distance(best_len, best_dist);
            for j in i..i + best_len {
                chains.insert(data, j);
            }
            i += best_len;
        } else {
            w.literal(u16::from(data[i]));
            chains.insert(data, i);
            i += 1;
        }
    }
    w.literal(256); // end of block
}

/// Hash chains: the latest position of each 3-byte hash and, per position, the previous one.
struct Chains {
    head: Vec<u32>,
    prev: Vec<u32>,
}

impl Chains {
    fn insert(&mut self, data: &[u8], i: usize) {
        if i + MIN_MATCH <= data.len() {
            let h = hash(data, i);
            self.prev[i] = self.head[h];
            self.head[h] = i as u32;
        }
    }
}

/// The hash of the three bytes at `i` (callers check `i + 3 <= data.len()`).
fn hash(data: &[u8], i: usize) -> usize {
    let v = u32::from(data[i]) << 16 | u32::from(data[i + 1]) << 8 | u32::from(data[i + 2]);
    (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// Bits packed least-significant first, as deflate wants.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// The low `n` bits of `value`, least significant first.
    fn bits(&mut self, value: u32, n: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += n;
        while self.n >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code of `len` bits, most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        self.bits(code.reverse_bits() >> (32 - len), len);
    }

    /// A literal/length symbol with its fixed code.
    fn literal(&mut self, sym: u16) {
        let sym = u32::from(sym);
        match sym {
            0..=143 => self.code(0x30 + sym, 8),
            144..=255 => self.code(0x190 + sym - 144, 9),
            256..=279 => self.code(sym - 256, 7),
            _ => self.code(0xC0 + sym - 280, 8),
        }
    }

    fn length_distance(&mut self, len: usize, dist: usize) {
        let li = if len == MAX_MATCH {
            28
        } else {
            LEN_BASE[..28]
                .iter()
                .rposition(|&b| usize::from(b) <= len)
                .unwrap_or(0)
        };
        self.literal(257 + li as u16);
        self.bits(
            (len - usize::from(LEN_BASE[li])) as u32,
            u32::from(LEN_EXTRA[li]),
        );
        let di = DIST_BASE
            .iter()
            .rposition(|&b| usize::from(b) <= dist)
            .unwrap_or(0);
        self.code(di as u32, 5);
        self.bits(
            (dist - usize::from(DIST_BASE[di])) as u32,
            u32::from(DIST_EXTRA[di]),
        );
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

/// CRC-32 (IEEE, reflected, as PNG and zip use it).
fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (n, slot) in t.iter_mut().enumerate() {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c = table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

/// Adler-32 (RFC 1950).
fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65_521;
        b %= 65_521;
    }
    b << 16 | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(&[]), 1);
    }

    /// Inflates a zlib stream made of fixed-Huffman blocks (all this encoder writes).
    fn inflate_fixed(z: &[u8]) -> Vec<u8> {
        assert_eq!(&z[..2], &[0x78, 0x01]);
        let data = &z[2..z.len() - 4];
        let mut pos = 0usize; // bit position
        let mut bit = |n: u32| -> u32 {
            let mut v = 0;
            for k in 0..n {
                let b = (data[pos / 8] >> (pos % 8)) & 1;
                v |= u32::from(b) << k;
                pos += 1;
            }
            v
        };
        let mut out: Vec<u8> = Vec::new();
        loop {
            let last = bit(1);
            assert_eq!(bit(2), 1, "fixed block");
            loop {
                // Read a fixed literal/length code MSB first.
                let mut code = 0u32;
                let mut len = 0;
                let sym = loop {
                    code = code << 1 | bit(1);
                    len += 1;
                    match len {
                        7 if code <= 0x17 => break code + 256,
                        8 if (0x30..=0xBF).contains(&code) => break code - 0x30,
                        8 if (0xC0..=0xC7).contains(&code) => break code - 0xC0 + 280,
                        9 if (0x190..=0x1FF).contains(&code) => break code - 0x190 + 144,
                        9 => panic!("bad code"),
                        _ => {}
                    }
                };
                match sym {
                    0..=255 => out.push(sym as u8),
                    256 => break,
                    _ => {
                        let li = (sym - 257) as usize;
                        let len = LEN_BASE[li] as usize + bit(u32::from(LEN_EXTRA[li])) as usize;
                        let mut dc = 0;
                        for _ in 0..5 {
                            dc = dc << 1 | bit(1);
                        }
                        let di = dc as usize;
                        let dist = DIST_BASE[di] as usize + bit(u32::from(DIST_EXTRA[di])) as usize;
                        let start = out.len() - dist;
                        for k in 0..len {
                            out.push(out[start + k]);
                        }
                    }
                }
            }
            if last == 1 {
                break;
            }
        }
        assert_eq!(adler32(&out).to_be_bytes(), z[z.len() - 4..]);
        out
    }

    #[test]
    fn deflate_round_trips() {
        let mut samples: Vec<Vec<u8>> = vec![
            vec![],
            b"a".to_vec(),
            b"abcabcabcabcabcabcabcabc".to_vec(),
            vec![0xFF; 100_000],
        ];
        // Pseudo-random bytes with repeats at many distances.
        let mut x: u32 = 12345;
        let mut v = Vec::new();
        for i in 0..200_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            if i % 7 == 0 && v.len() > 40_000 {
                let back = (x as usize >> 8) % 40_000 + 1;
                let n = (x as usize >> 3) % 300;
                let s = v.len() - back;
                for k in 0..n {
                    v.push(v[s + k]);
                }
            } else {
                v.push((x >> 24) as u8 % 5);
            }
        }
        samples.push(v);
        for s in samples {
            assert_eq!(inflate_fixed(&zlib(&s)), s);
        }
    }

    #[test]
    fn encodes_an_image() {
        let (w, h) = (7u32, 5u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 256) as u8).collect();
        let png = encode_rgb(w, h, &rgb).expect("encode");
        assert_eq!(&png[..8], &SIGNATURE);
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
        // Decode the IDAT and undo the filters.
        let idat_len = u32::from_be_bytes([png[33], png[34], png[35], png[36]]) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let raw = inflate_fixed(&png[41..41 + idat_len]);
        let stride = w as usize * 3;
        let mut prev = vec![0u8; stride];
        let mut decoded = Vec::new();
        for row in raw.chunks_exact(stride + 1) {
            let mut cur = row[1..].to_vec();
            for i in 0..stride {
                let add = match row[0] {
                    0 => 0,
                    1 => {
                        if i >= 3 {
                            cur[i - 3]
                        } else {
                            0
                        }
                    }
                    2 => prev[i],
                    f => panic!("filter {f}"),
                };
                cur[i] = cur[i].wrapping_add(add);
            }
            decoded.extend_from_slice(&cur);
            prev = cur;
        }
        assert_eq!(decoded, rgb);
        assert!(encode_rgb(3, 3, &rgb).is_err());
    }
}
