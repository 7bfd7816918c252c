//! Just enough DER to read what key loading and certificate handling need
//! (an RSA modulus length, an algorithm OID, a certificate's validity) and to
//! wrap a PKCS#1 public key as `SubjectPublicKeyInfo`. Every read is bounds
//! checked and returns `None` on anything unexpected; nothing here panics.

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OID: u8 = 0x06;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;

/// `rsaEncryption` (1.2.840.113549.1.1.1), content bytes.
pub(crate) const OID_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
/// `id-ecPublicKey` (1.2.840.10045.2.1), content bytes.
pub(crate) const OID_EC: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// `id-Ed25519` (1.3.101.112), content bytes.
pub(crate) const OID_ED25519: &[u8] = &[0x2B, 0x65, 0x70];

/// Splits one TLV off `input`: `(tag, content, rest)`.
pub(crate) fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Reads one TLV that must have `tag`: `(content, rest)`.
pub(crate) fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, content, rest) = read(input)?;
    (t == tag).then_some((content, rest))
}

/// Whether `der` contains the OID `oid` anywhere (a cheap algorithm sniff
/// for error messages; never used to accept a key).
pub(crate) fn mentions_oid(der: &[u8], oid: &[u8]) -> bool {
    let mut needle = vec![OID, oid.len() as u8];
    needle.extend_from_slice(oid);
    der.windows(needle.len()).any(|w| w == needle)
}

/// The modulus length in bits of an RSA `SubjectPublicKeyInfo`.
pub(crate) fn spki_rsa_bits(spki: &[u8]) -> Option<usize> {
    let (spki, _) = expect(spki, SEQUENCE)?;
    let (algorithm, rest) = expect(spki, SEQUENCE)?;
    let (oid, _) = expect(algorithm, OID)?;
    if oid != OID_RSA {
        return None;
    }
    let (bits, _) = expect(rest, BIT_STRING)?;
    let (&unused, key) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    pkcs1_rsa_bits(key)
}

/// The modulus length in bits of a PKCS#1 `RSAPublicKey`.
pub(crate) fn pkcs1_rsa_bits(key: &[u8]) -> Option<usize> {
    let (key, _) = expect(key, SEQUENCE)?;
    let (modulus, _) = expect(key, INTEGER)?;
    let start = modulus.iter().position(|&b| b != 0)?;
    let significant = &modulus[start..];
    Some(significant.len() * 8 - significant[0].leading_zeros() as usize)
}

fn encode_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// One TLV.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    encode_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// A PKCS#1 `RSAPublicKey` wrapped as `SubjectPublicKeyInfo` (what
/// `openssl rsa -RSAPublicKey_in -pubout` writes).
pub(crate) fn pkcs1_to_spki(pkcs1: &[u8]) -> Vec<u8> {
    let mut algorithm = tlv(OID, OID_RSA);
    algorithm.extend_from_slice(&[0x05, 0x00]);
    let mut bits = vec![0u8];
    bits.extend_from_slice(pkcs1);
    let mut body = tlv(SEQUENCE, &algorithm);
    body.extend_from_slice(&tlv(BIT_STRING, &bits));
    tlv(SEQUENCE, &body)
}

/// `notBefore` and `notAfter` of a DER X.509 certificate, as Unix seconds.
pub(crate) fn certificate_validity(cert: &[u8]) -> Option<(i64, i64)> {
    let (cert, _) = expect(cert, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    // [0] EXPLICIT version, optional.
    if let Some((0xA0, _, after)) = read(rest) {
        rest = after;
    }
    let (_, rest) = expect(rest, INTEGER)?; // serialNumber
    let (_, rest) = expect(rest, SEQUENCE)?; // signature
    let (_, rest) = expect(rest, SEQUENCE)?; // issuer
    let (validity, _) = expect(rest, SEQUENCE)?;
    let (tag, not_before, rest) = read(validity)?;
    let not_before = time(tag, not_before)?;
    let (tag, not_after, _) = read(rest)?;
    Some((not_before, time(tag, not_after)?))
}

/// A UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn time(tag: u8, content: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(content).ok()?;
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |s: &str| s.parse::<i64>().ok();
    let (year, rest) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy = num(&digits[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (GENERALIZED_TIME, 14) => (num(&digits[..4])?, &digits[4..]),
        _ => return None,
    };
    let field = |i: usize| num(&rest[i..i + 2]);
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second.min(60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_and_truncation_is_refused() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let content = vec![7u8; len];
            let encoded = tlv(SEQUENCE, &content);
            let (tag, got, rest) = read(&encoded).unwrap();
            assert_eq!((tag, got.len(), rest.len()), (SEQUENCE, len, 0));
            if len > 0 {
                assert!(read(&encoded[..encoded.len() - 1]).is_none());
            }
        }
        assert!(read(&[0x30, 0x85, 1, 2, 3, 4, 5]).is_none());
        assert!(read(&[0x30]).is_none());
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2025, 1, 1) * 86_400, 1_735_689_600);
    }

    #[test]
    fn times() {
        assert_eq!(time(UTC_TIME, b"250101000000Z"), Some(1_735_689_600));
        assert_eq!(
            time(GENERALIZED_TIME, b"20250101000000Z"),
            Some(1_735_689_600)
        );
        assert_eq!(time(UTC_TIME, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(time(UTC_TIME, b"2501010000Z"), None);
        assert_eq!(time(UTC_TIME, b"250101000000+0800"), None);
    }
}
