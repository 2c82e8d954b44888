//! PEM blocks in and out, and the PKCS#8 → PKCS#1 unwrapping for generated RSA keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use x509_parser::pem::Pem;

/// `CERTIFICATE`.
pub(crate) const CERTIFICATE: &str = "CERTIFICATE";
/// PKCS#1, the form VIC writes its generated keys in (vic.md §4.3).
pub(crate) const RSA_PRIVATE_KEY: &str = "RSA PRIVATE KEY";

/// One decoded PEM block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

/// The PEM blocks of `data`, in order. Text around blocks is ignored; decoding stops at the
/// first malformed block, as Go's `pem.Decode` loop in `tls.X509KeyPair` effectively does.
pub(crate) fn blocks(data: &[u8]) -> Vec<Block> {
    Pem::iter_from_buffer(data)
        .map_while(Result::ok)
        .map(|p| Block {
            label: p.label,
            der: p.contents,
        })
        .collect()
}

/// The DER certificates in `data` (other blocks skipped).
pub(crate) fn certificates(data: &[u8]) -> Vec<Vec<u8>> {
    blocks(data)
        .into_iter()
        .filter(|b| b.label == CERTIFICATE)
        .map(|b| b.der)
        .collect()
}

/// Encodes one PEM block with 64-column lines and a trailing newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // base64 output is ASCII, so byte chunks are valid str boundaries.
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// One DER TLV: (tag, contents, rest). Single-byte tags and definite lengths only, which is
/// all PKCS#8 needs.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len0, mut rest) = rest.split_first()?;
    let len = if len0 < 0x80 {
        usize::from(len0)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len_bytes, after) = rest.split_at(n);
        rest = after;
        len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo`
/// (`SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING privateKey, … }`).
pub(crate) fn pkcs8_to_pkcs1(pkcs8: &[u8]) -> Option<&[u8]> {
    let (0x30, info, _) = tlv(pkcs8)? else {
        return None;
    };
    let (0x02, _, rest) = tlv(info)? else {
        return None;
    };
    let (0x30, _, rest) = tlv(rest)? else {
        return None;
    };
    let (0x04, key, _) = tlv(rest)? else {
        return None;
    };
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_round_trips_long_bodies() {
        let der: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let text = encode("CERTIFICATE", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(certificates(text.as_bytes()), vec![der]);
    }

    #[test]
    fn blocks_keep_order_and_labels_and_skip_prose() {
        let text = format!(
            "hello\n{}between\n{}",
            encode("RSA PRIVATE KEY", &[1, 2]),
            encode("CERTIFICATE", &[3])
        );
        let labels: Vec<_> = blocks(text.as_bytes())
            .into_iter()
            .map(|b| b.label)
            .collect();
        assert_eq!(labels, ["RSA PRIVATE KEY", "CERTIFICATE"]);
        assert!(blocks(b"no pem here").is_empty());
    }

    #[test]
    fn pkcs8_unwraps_to_the_inner_key_and_rejects_garbage() {
        // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }, OCTET STRING {AA BB} }
        let pkcs8 = [
            0x30, 0x16, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
            0x0d, 0x01, 0x01, 0x01, 0x05, 0x00, 0x04, 0x02, 0xaa, 0xbb,
        ];
        assert_eq!(pkcs8_to_pkcs1(&pkcs8), Some(&[0xaa, 0xbb][..]));
        assert_eq!(pkcs8_to_pkcs1(&pkcs8[..10]), None);
        assert_eq!(pkcs8_to_pkcs1(&[0x04, 0x00]), None);
        assert_eq!(pkcs8_to_pkcs1(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }
}
