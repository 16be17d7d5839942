//! The percent-encoding every Aliyun RPC signature is computed over.

/// `encodeURIComponent`, then `!'()*` escaped too: only `A-Za-z0-9-_.~`
/// stay as they are; every other UTF-8 byte becomes `%XX` (upper-case hex).
pub fn percent_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 2);
    percent_encode_into(input, &mut out);
    out
}

/// [`percent_encode`] appending to `out`, so a query is built in one buffer.
pub fn percent_encode_into(input: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in input.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[(byte >> 4) as usize] as char);
            out.push(HEX[(byte & 0x0f) as usize] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ascii_character_encodes_like_pop_core() {
        // Expected: encodeURIComponent(c) with !'()* escaped as well.
        for code in 0u8..128 {
            let c = code as char;
            let encoded = percent_encode(&c.to_string());
            let stays = c.is_ascii_alphanumeric() || "-_.~".contains(c);
            if stays {
                assert_eq!(encoded, c.to_string(), "{c:?} must stay");
            } else {
                assert_eq!(encoded, format!("%{:02X}", code), "{c:?} must be escaped");
            }
        }
    }

    #[test]
    fn reserved_and_space() {
        assert_eq!(percent_encode("a b+c/d?e=f&g"), "a%20b%2Bc%2Fd%3Fe%3Df%26g");
        assert_eq!(percent_encode("!'()*~"), "%21%27%28%29%2A~");
    }

    #[test]
    fn non_ascii_is_utf8_bytes() {
        assert_eq!(percent_encode("北京"), "%E5%8C%97%E4%BA%AC");
        assert_eq!(percent_encode("😀"), "%F0%9F%98%80");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    /// encodeURIComponent as ECMAScript defines it, char by char: the
    /// unreserved marks stay, everything else is its UTF-8 bytes as %XX.
    fn encode_uri_component(input: &str) -> String {
        let mut out = String::new();
        for ch in input.chars() {
            if ch.is_ascii_alphanumeric() || "-_.!~*'()".contains(ch) {
                out.push(ch);
            } else {
                let mut buf = [0u8; 4];
                for byte in ch.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        }
        out
    }

    /// pop-core's encoder: encodeURIComponent, then `!'()*` escaped.
    fn pop_core_encode(input: &str) -> String {
        encode_uri_component(input)
            .replace('!', "%21")
            .replace('\'', "%27")
            .replace('(', "%28")
            .replace(')', "%29")
            .replace('*', "%2A")
    }

    proptest::proptest! {
        #[test]
        fn matches_the_model_over_arbitrary_unicode(input in proptest::prelude::any::<String>()) {
            proptest::prop_assert_eq!(percent_encode(&input), pop_core_encode(&input));
        }

        #[test]
        fn appending_is_the_same_as_encoding(prefix in "[a-z%]{0,8}", input in proptest::prelude::any::<String>()) {
            let mut out = prefix.clone();
            percent_encode_into(&input, &mut out);
            proptest::prop_assert_eq!(out, format!("{prefix}{}", percent_encode(&input)));
        }
    }
}
